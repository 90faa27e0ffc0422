"""What a plugin subclasses: policies, keymaps, serializers, observers and archives."""
