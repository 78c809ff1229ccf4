"""External movie catalogues, translated into movievote's own `MovieData`."""
