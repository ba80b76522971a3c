"""The cluster of one pyinfra run, on the provisioner: its nodes, the state directory (secrets, TLS), the checks that hook into the run."""
