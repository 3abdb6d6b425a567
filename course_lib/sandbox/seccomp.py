"""The system calls no sandbox may make, as the seccomp filter bubblewrap loads (`--seccomp`).

A sandbox's processes share no user with any other sandbox (course_lib.sandbox.bubblewrap), but
a few kernel interfaces reach past users and namespaces, or are other processes' memory and
files by another door: tracing (`ptrace`, `process_vm_readv`/`writev`, `pidfd_getfd`), the
kernel key rings (`keyctl`, `add_key`, `request_key`: a user key ring is shared by every
process of a uid, a session key ring is inherited), new namespaces (`unshare`, `setns`, and
`clone` with a namespace flag: a user namespace would give capabilities over it), mounts,
kernel modules, BPF, performance counters, `userfaultfd` and io_uring (whose operations no
seccomp filter sees). Each is refused with EPERM; `clone3`, whose flags a filter cannot read,
answers ENOSYS, so that the C library falls back to `clone`. A system call of another ABI (x32,
i386 on x86_64) is refused too. Nothing a notebook, Keras or nbclient needs is in the list.

The program is classic BPF, built here from its opcodes: a few dozen instructions, no library.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

# BPF opcodes (linux/bpf_common.h), seccomp's return values and offsets (linux/seccomp.h).
LOAD_WORD, JUMP_EQ, JUMP_GE, JUMP_SET, RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
NR, ARCH, ARG0 = 0, 4, 16  # struct seccomp_data: nr, arch, args[0] (its low 32 bits)
X32 = 0x40000000
NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME

# AUDIT_ARCH_* (linux/audit.h) and the numbers of the refused calls on that architecture.
ARCHITECTURES = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
        "keyctl": 250, "add_key": 248, "request_key": 249, "unshare": 272, "setns": 308,
        "mount": 165, "umount2": 166, "pivot_root": 155, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
        "kexec_file_load": 320, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "open_by_handle_at": 304, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427,
    }, 56, 435),
    "aarch64": (0xC00000B7, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
        "keyctl": 219, "add_key": 217, "request_key": 218, "unshare": 97, "setns": 268,
        "mount": 40, "umount2": 39, "pivot_root": 41, "open_tree": 428, "move_mount": 429,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "open_by_handle_at": 265, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427,
    }, 220, 435),
}


def supported() -> bool:
    return platform.machine() in ARCHITECTURES


def program(machine: str | None = None) -> bytes:
    """The filter for this machine's architecture, as bubblewrap reads it (struct sock_filter[])."""
    arch, refused, clone, clone3 = ARCHITECTURES[machine or platform.machine()]
    code: list[tuple[int, str | int, str | int, int]] = [  # (opcode, true, false, k): labels resolved below
        (LOAD_WORD, 0, 0, ARCH),
        (JUMP_EQ, 1, 0, arch),
        (RETURN, 0, 0, ERRNO | errno.EPERM),
        (LOAD_WORD, 0, 0, NR),
    ]
    if arch == ARCHITECTURES["x86_64"][0]:
        code.append((JUMP_GE, "deny", 0, X32))
    code += [(JUMP_EQ, "deny", 0, number) for number in sorted(refused.values())]
    code += [
        (JUMP_EQ, "no_clone3", 0, clone3),
        (JUMP_EQ, 0, "allow", clone),
        (LOAD_WORD, 0, 0, ARG0),
        (JUMP_SET, "deny", "allow", NAMESPACE_FLAGS),
    ]
    labels = {"allow": len(code), "deny": len(code) + 1, "no_clone3": len(code) + 2}
    code += [(RETURN, 0, 0, ALLOW), (RETURN, 0, 0, ERRNO | errno.EPERM), (RETURN, 0, 0, ERRNO | errno.ENOSYS)]

    def offset(at: int, target: str | int) -> int:
        return labels[target] - at - 1 if isinstance(target, str) else target

    return b"".join(struct.pack("=HBBI", op, offset(at, true), offset(at, false), k)
                    for at, (op, true, false, k) in enumerate(code))


def filter_fd() -> int:
    """A file descriptor holding the program, for bubblewrap's --seccomp (inherited by it)."""
    read, write = os.pipe()
    os.write(write, program())  # a few hundred bytes: within a pipe's buffer
    os.close(write)
    return read
