"""What `make deploy`, `make configure-opentok` and `make destroy` run after or around SAM."""
