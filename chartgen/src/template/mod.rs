//! Go text/template: lexer, parser, executor, Go fmt, built-in functions.
