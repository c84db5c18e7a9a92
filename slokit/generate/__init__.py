"""Pure generators: the SLO model in, text out. Writing files is the CLI's job."""
