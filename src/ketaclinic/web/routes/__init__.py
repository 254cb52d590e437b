"""Route modules: each defines ``router``; ``create_app`` includes every one of them."""
