"""The service layer: every rule and query, called alike by the pages and the API."""
