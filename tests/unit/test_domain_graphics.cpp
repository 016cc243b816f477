// Where a libvirt domain shows its display, read from its live XML (libvirt 9.0's as written
// for running domains), and the XML vmcast refuses.
#include <gtest/gtest.h>

#include "qemu/domain_graphics.h"

using vmcast::qemu::DisplayOnBus;
using vmcast::qemu::DisplayPeerToPeer;
using vmcast::qemu::domain_display;

namespace {

std::string domain_with(const std::string &devices) {
    return "<domain type='qemu' id='1'><name>vm</name><devices>" + devices + "</devices></domain>";
}

} // namespace

TEST(DomainGraphics, BusAddressFromLiveXml) {
    std::string why;
    auto display = domain_display(
        domain_with("<graphics type='vnc' port='5900'/>"
                    "<graphics type='dbus' address='unix:path=/run/libvirt/qemu/dbus/"
                    "1-vm-dbus.sock'/><video><model type='vga'/></video>"),
        why);
    ASSERT_TRUE(display) << why;
    ASSERT_TRUE(std::holds_alternative<DisplayOnBus>(*display));
    EXPECT_EQ(std::get<DisplayOnBus>(*display).address,
              "unix:path=/run/libvirt/qemu/dbus/1-vm-dbus.sock");
}

TEST(DomainGraphics, PeerToPeerCountsTheGraphicsBefore) {
    std::string why;
    auto display = domain_display(
        domain_with("<graphics type='spice'/><graphics type='vnc'/><graphics type='dbus' "
                    "p2p='yes'/>"),
        why);
    ASSERT_TRUE(display) << why;
    ASSERT_TRUE(std::holds_alternative<DisplayPeerToPeer>(*display));
    EXPECT_EQ(std::get<DisplayPeerToPeer>(*display).graphics_index, 2u);
}

TEST(DomainGraphics, NoDbusGraphics) {
    std::string why;
    EXPECT_FALSE(domain_display(domain_with("<graphics type='vnc'/>"), why));
    EXPECT_EQ(why, "it has no <graphics type='dbus'/>");
}

TEST(DomainGraphics, BusWithoutAddressIsNotRunning) {
    std::string why;
    EXPECT_FALSE(domain_display(domain_with("<graphics type='dbus'/>"), why));
    EXPECT_NE(why.find("no bus address"), std::string::npos) << why;
}

TEST(DomainGraphics, AddressesThatAreNotLibvirtsSocketsAreRefused) {
    for (const char *address : {"tcp:host=example.com,port=1", "unix:nonsense", "", "unix:"}) {
        std::string why;
        EXPECT_FALSE(domain_display(
            domain_with(std::string("<graphics type='dbus' address='") + address + "'/>"), why))
            << address;
        EXPECT_FALSE(why.empty());
    }
}

TEST(DomainGraphics, GraphicsOutsideDevicesAreIgnored) {
    std::string why;
    EXPECT_FALSE(domain_display(
        "<domain><metadata><graphics type='dbus' p2p='yes'/></metadata><devices/></domain>", why));
}

TEST(DomainGraphics, BrokenXml) {
    for (const char *xml : {"", "<domain>", "<domain><devices></domain>", "not xml", "<a b='>"}) {
        std::string why;
        EXPECT_FALSE(domain_display(xml, why)) << xml;
        EXPECT_FALSE(why.empty()) << xml;
    }
}
