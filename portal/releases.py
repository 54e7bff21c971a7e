"""Release templates a customer can ask a jail to be created from (pure data)."""

# name -> the ZFS snapshot a jail is cloned from; "" means a fresh, empty dataset (the
# customer installs into it).
TEMPLATES = {
    "14.1-RELEASE": "zroot/templates/14.1-RELEASE@base",
    "14.2-RELEASE": "zroot/templates/14.2-RELEASE@base",
    "empty": "",
}
DEFAULT_TEMPLATE = "14.1-RELEASE"
