// HostLinux module: work in progress
