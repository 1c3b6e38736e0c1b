//! Benchmarks and traffic tools for mrouter.
