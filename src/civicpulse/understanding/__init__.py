"""Understanding what people say; fast defaults that run offline."""
