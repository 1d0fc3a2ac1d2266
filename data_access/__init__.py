"""Every SQL query of gridwall lives here. Each query function takes an explicit scope and moment."""
