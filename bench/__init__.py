"""perago's benchmarks (issue 6): ``make bench`` runs them all; ``make bench-smoke`` runs tiny sizes."""
