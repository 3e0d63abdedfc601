//! Lexer: splits template text into text runs and action tokens, as Go's `text/template/parse` lexer does.
