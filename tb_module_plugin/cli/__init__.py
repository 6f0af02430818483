"""The command line, a consumer of the built tree next to serve: the module table of a logdir's graphs."""
