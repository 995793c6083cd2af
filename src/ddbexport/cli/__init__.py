"""The command line: a thin layer that parses options, calls the library and prints the result.

One module per command group; :mod:`ddbexport.cli.main` registers them all. Nothing imports this
package but the console script and ``python -m ddbexport``.
"""
