// QEMU module: work in progress
