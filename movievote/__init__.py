"""movievote: vote for your favourite movie once a month and watch the ranking move live."""
