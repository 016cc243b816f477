// vmcast run --libvirt: the displays of libvirt's running domains, each joined on its own
// connection (the domain's private bus, or a p2p socket from libvirt) and fed to the fleet while
// the domain runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>

#include "app/display_link.h"
#include "app/fleet.h"
#include "qemu/display_connection.h"
#include "qemu/libvirt_domains.h"

namespace vmcast::app {

class LibvirtDisplays {
  public:
    // nullptr and a one-line reason in error when libvirt at uri cannot be reached.
    static std::unique_ptr<LibvirtDisplays> start(const std::string &uri, Fleet &fleet,
                                                  std::string &error);
    LibvirtDisplays(const LibvirtDisplays &) = delete;
    LibvirtDisplays &operator=(const LibvirtDisplays &) = delete;

  private:
    explicit LibvirtDisplays(Fleet &fleet) : fleet_(fleet) {}
    void domain_running(const std::string &domain, qemu::DomainDisplayEnd display);
    void connected(const std::string &domain, const std::string &where,
                   GObjectPtr<GDBusConnection> connection, const std::string &error);

    Fleet &fleet_;
    // Each running domain's display: being connected to, or linked to the fleet.
    using DomainLink =
        std::variant<std::unique_ptr<qemu::PendingDisplayConnection>, std::unique_ptr<DisplayLink>>;
    std::map<std::string, DomainLink> links_;
    // Declared last, so its events stop before the links go.
    std::unique_ptr<qemu::LibvirtDomains> domains_;
};

} // namespace vmcast::app
