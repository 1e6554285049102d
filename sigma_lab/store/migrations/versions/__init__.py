"""One file per migration, applied in order by ``sigma_lab.store.upgrade``."""
