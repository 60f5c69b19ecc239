// Libvirt module: work in progress
import CLibvirt
