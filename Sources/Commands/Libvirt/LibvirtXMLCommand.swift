import ArgumentParser
import LibvirtXML
import VMCore

/// `vm libvirt-xml NAME`
struct LibvirtXMLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "libvirt-xml",
        abstract: "Print the libvirt domain XML that the libvirt backend defines for a VM.",
        discussion: """
            The same XML `vm up --backend libvirt` defines. With a remote --connect URI the serial \
            console is not logged into this machine's state folder.

            EXAMPLES:
              vm libvirt-xml win11
              vm libvirt-xml win11 --connect qemu+ssh://host/system
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Option(help: ArgumentHelp("The libvirt URI the XML is meant for (default: the definition's, else qemu:///system).",
                               valueName: "uri"))
    var connect: String?

    func run() async throws {
        let loaded = try CommandSupport.loadResolved(name)
        guard case .libvirt(let uri) = try BackendSelection.resolve(definition: loaded.spec.backend, backend: "libvirt", connect: connect) else {
            return
        }
        print(try DomainXMLBuilder(spec: loaded.spec, paths: loaded.paths, uri: uri).domainXML())
    }
}
