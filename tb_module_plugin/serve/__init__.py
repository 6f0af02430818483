"""What TensorBoard serves: the store and its cache, the query, the answers, search, the routes."""
