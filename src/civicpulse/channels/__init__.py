"""Ways voices come in and notifications go out."""
