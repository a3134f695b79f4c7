"""Search and discovery: full text, typeahead, natural-language find, statistics."""
