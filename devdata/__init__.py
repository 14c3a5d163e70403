"""Generated data for development and benchmarks: `seed_demo` (a small, realistic clinic to try
the application with) and `seed_large` (a large clinic for benchmarks). Nothing in the clinic's
own apps imports this package."""
