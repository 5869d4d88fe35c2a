"""Label Studio (open source, 1.23.x) pieces: HTTP client, label-config builder, label conversion.

Not wired into the apply engine yet (the provider contract is being redesigned). See
``api/labelstudio.md`` for the facts these modules rely on.
"""
