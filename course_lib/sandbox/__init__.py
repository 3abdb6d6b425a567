"""Isolation of the processes that touch student data: bubblewrap with seccomp (bubblewrap,
seccomp), a control group each (cgroups), a user each (uids), and their scratch folders
(scratch)."""
