"""Local fakes of remote services for tests: real servers on loopback, never the internet."""
