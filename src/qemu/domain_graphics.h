// Where a libvirt domain shows its display: the <graphics type='dbus'/> element of its live XML.
// libvirt starts a private bus for each such domain and writes its address into the live XML;
// with p2p='yes' there is no bus, and a client asks libvirt for a connection
// (virDomainOpenGraphicsFD), which libvirt hands to QEMU with add_client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace vmcast::qemu {

struct DisplayOnBus {
    std::string address; // a D-Bus address: unix:path=... (libvirt's private bus)
};
struct DisplayPeerToPeer {
    uint32_t graphics_index = 0; // which <graphics> of the domain, for virDomainOpenGraphicsFD
};
using DomainDisplay = std::variant<DisplayOnBus, DisplayPeerToPeer>;

// The display of the domain described by xml (virDomainGetXMLDesc of a running domain), or
// nullopt with a one-line reason in why: no dbus graphics, a bus without its address (libvirt
// writes it only while the domain runs), an address that is not a unix socket, or XML that does
// not parse.
std::optional<DomainDisplay> domain_display(std::string_view xml, std::string &why);

} // namespace vmcast::qemu
