"""The inventory: the manual's variables, the INI loader, validation. Pure: no pyinfra run state."""
