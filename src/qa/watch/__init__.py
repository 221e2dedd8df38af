"""`qa watch`: a front end that keeps the index up to date as the corpus changes."""
