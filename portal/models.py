"""The portal app has no tables yet; this module lets Django send it post_migrate."""
