// The config file (--config) and the command line over it: every key, the one-line errors that
// name the group and key, and the command line winning.
#include <gtest/gtest.h>

#include <fstream>

#include "app/config_file.h"
#include "app/options.h"

namespace vmcast::app {
namespace {

std::string write_file(const std::string &name, const std::string &text) {
    const std::string path = testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
}

TEST(ConfigFile, EveryKeySetsItsOption) {
    Options options;
    std::string error;
    ASSERT_TRUE(
        read_config_text("# a comment\n"
                         "[bus]\naddress=unix:path=/run/vm/bus\n"
                         "[vms]\nnames=web1;web2;\n"
                         "[stream]\nmax-fps=30\ncursor=metadata\ncamera=true\ncamera-fps=15\n"
                         "camera-size=1280x720\n"
                         "[web]\nlisten=0.0.0.0:8443\ntoken-file=/etc/vmcast/tokens\n"
                         "codec=vp8\nbitrate=2500\nmicrophone=true\n",
                         "test.conf", options, error))
        << error;
    EXPECT_EQ(options.address, "unix:path=/run/vm/bus");
    EXPECT_EQ(options.vm_names, (std::vector<std::string>{"web1", "web2"}));
    EXPECT_EQ(options.max_fps, 30u);
    EXPECT_EQ(options.cursor_mode, pipewire::CursorMode::Metadata);
    EXPECT_TRUE(options.camera);
    EXPECT_EQ(options.camera_fps, 15u);
    EXPECT_EQ(options.camera_size, (frame::Size{1280, 720}));
    EXPECT_EQ(options.web_listen, "0.0.0.0:8443");
    EXPECT_EQ(options.web_token_file, "/etc/vmcast/tokens");
    EXPECT_EQ(options.web_codec, "vp8");
    EXPECT_EQ(options.web_bitrate_kbps, 2500u);
    EXPECT_TRUE(options.web_microphone);
}

TEST(ConfigFile, LibvirtInsteadOfABus) {
    Options options;
    std::string error;
    ASSERT_TRUE(read_config_text("[libvirt]\nuri=qemu:///system\n", "f.conf", options, error))
        << error;
    EXPECT_EQ(options.libvirt_uri, "qemu:///system");
    EXPECT_FALSE(read_config_text("[bus]\naddress=unix:path=/run/vm/bus\n[libvirt]\nuri=qemu:///"
                                  "system\n",
                                  "f.conf", options, error));
    EXPECT_EQ(error, "f.conf: both [bus] address and [libvirt] uri: they exclude each other");
}

TEST(ConfigFile, AnEmptyFileAndAnEmptyListKeepTheDefaults) {
    Options options;
    std::string error;
    ASSERT_TRUE(read_config_text("", "empty.conf", options, error)) << error;
    ASSERT_TRUE(read_config_text("[vms]\nnames=\n", "empty.conf", options, error)) << error;
    EXPECT_TRUE(options.vm_names.empty());
    EXPECT_EQ(options.max_fps, 60u);
    EXPECT_FALSE(options.camera);
    EXPECT_EQ(options.camera_fps, 30u);
    EXPECT_FALSE(options.camera_size);
    EXPECT_EQ(options.web_bitrate_kbps, 6000u);
    EXPECT_FALSE(options.web_microphone);
    EXPECT_TRUE(options.web_listen.empty());
}

TEST(ConfigFile, EachBadValueIsOneLineNamingTheGroupAndKey) {
    const struct {
        const char *text;
        const char *error;
    } cases[] = {
        {"[web]\nbitrate=fast\n",
         "f.conf: [web] bitrate: expected kbit/s from 100 to 100000, got \"fast\""},
        {"[web]\nbitrate=99\n",
         "f.conf: [web] bitrate: expected kbit/s from 100 to 100000, got \"99\""},
        {"[web]\ncodec=h265\n", "f.conf: [web] codec: expected h264 or vp8, got \"h265\""},
        {"[web]\nmicrophone=yes\n",
         "f.conf: [web] microphone: expected true or false, got \"yes\""},
        {"[web]\nlisten=localhost:80\n",
         "f.conf: [web] listen: expected HOST:PORT, [IPv6]:PORT, HOST or :PORT ('localhost' is "
         "not an IP address), got \"localhost:80\""},
        {"[web]\ntoken-file=tokens\n",
         "f.conf: [web] token-file: expected an absolute path, got \"tokens\""},
        {"[stream]\nmax-fps=1001\n",
         "f.conf: [stream] max-fps: expected frames a second from 1 to 1000, got \"1001\""},
        {"[stream]\nmax-fps=-5\n",
         "f.conf: [stream] max-fps: expected frames a second from 1 to 1000, got \"-5\""},
        {"[stream]\ncursor=shown\n",
         "f.conf: [stream] cursor: expected auto, embedded, metadata or hidden, got \"shown\""},
        {"[stream]\ncamera=yes\n", "f.conf: [stream] camera: expected true or false, got \"yes\""},
        {"[stream]\ncamera-fps=0\n",
         "f.conf: [stream] camera-fps: expected frames a second from 1 to 120, got \"0\""},
        {"[stream]\ncamera-fps=121\n",
         "f.conf: [stream] camera-fps: expected frames a second from 1 to 120, got \"121\""},
        {"[stream]\ncamera-size=1280\n",
         "f.conf: [stream] camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, "
         "such as 1280x720, got \"1280\""},
        {"[stream]\ncamera-size=14x16\n",
         "f.conf: [stream] camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, "
         "such as 1280x720, got \"14x16\""},
        {"[stream]\ncamera-size=8194x720\n",
         "f.conf: [stream] camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, "
         "such as 1280x720, got \"8194x720\""},
        {"[stream]\ncamera-size=1281x720\n",
         "f.conf: [stream] camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, "
         "such as 1280x720, got \"1281x720\""},
        {"[stream]\ncamera-size=1280x721\n",
         "f.conf: [stream] camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, "
         "such as 1280x720, got \"1280x721\""},
        {"[stream]\ncamera-size=1280x720x2\n",
         "f.conf: [stream] camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, "
         "such as 1280x720, got \"1280x720x2\""},
        {"[bus]\naddress=nowhere\n",
         "f.conf: [bus] address: expected a D-Bus address such as unix:path=/run/vm/bus, got "
         "\"nowhere\""},
        {"[vms]\nnames=a;;b\n",
         "f.conf: [vms] names: expected VM names separated by ;, none empty, got \"a;;b\""},
        {"[libvirt]\nuri=\n",
         "f.conf: [libvirt] uri: expected a libvirt URI such as qemu:///system, got \"\""},
        // A newline GKeyFile unescapes stays escaped: the error is one line.
        {"[web]\ncodec=h\\n264\n", "f.conf: [web] codec: expected h264 or vp8, got \"h\\n264\""},
        {"[web]\nbitrat=100\n", "f.conf: [web] bitrat: unknown key (expected listen, token-file, "
                                "codec, bitrate or microphone)"},
        {"[stream]\nmax-fps[de]=5\n", "f.conf: [stream] max-fps[de]: unknown key (expected "
                                      "max-fps, cursor, camera, camera-fps or "
                                      "camera-size)"},
        {"[webs]\n",
         "f.conf: [webs]: unknown group (expected bus, vms, libvirt, stream, web or wayland)"},
        {"[wayland]\nsocket=run/vmcast\n",
         "f.conf: [wayland] socket: expected a socket name in $XDG_RUNTIME_DIR (no /) or an "
         "absolute path (at most 107 characters), got \"run/vmcast\""},
        {"[wayland]\nsocket=/run/vmcast/\n",
         "f.conf: [wayland] socket: expected a socket name in $XDG_RUNTIME_DIR (no /) or an "
         "absolute path (at most 107 characters), got \"/run/vmcast/\""},
    };
    for (const auto &bad : cases) {
        Options options;
        std::string error;
        EXPECT_FALSE(read_config_text(bad.text, "f.conf", options, error)) << bad.text;
        EXPECT_EQ(error, bad.error);
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
}

TEST(ConfigFile, ATextThatIsNoKeyFileOrNoFileIsRefused) {
    Options options;
    std::string error;
    EXPECT_FALSE(read_config_text("bitrate=5\n", "f.conf", options, error));
    EXPECT_EQ(error.rfind("f.conf: not a config file: ", 0), 0u) << error;
    EXPECT_FALSE(read_config_file(testing::TempDir() + "no-such.conf", options, error));
    EXPECT_EQ(error,
              testing::TempDir() + "no-such.conf: cannot read it: No such file or directory");
    EXPECT_FALSE(read_config_file(testing::TempDir(), options, error));
    EXPECT_NE(error.find("not a config file"), std::string::npos) << error;
}

TEST(ConfigFile, PrintedSettingsReadBackTheSame) {
    Options options;
    std::string error;
    ASSERT_TRUE(read_config_text(
        "[vms]\nnames=a;b c;\n[stream]\ncursor=hidden\ncamera=true\ncamera-fps=25\n"
        "camera-size=320x240\n"
        "[web]\nlisten=[::1]:9000\nbitrate=100\n",
        "f.conf", options, error))
        << error;
    const std::string printed = config_text(options);
    Options again;
    ASSERT_TRUE(read_config_text(printed, "printed", again, error)) << error << "\n" << printed;
    EXPECT_EQ(config_text(again), printed);
    EXPECT_EQ(again.vm_names, (std::vector<std::string>{"a", "b c"}));
    // A name with GKeyFile's list separator in it, as QEMU's -name allows.
    Options semicolon;
    semicolon.vm_names = {"x;y", "z"};
    Options read_back;
    ASSERT_TRUE(read_config_text(config_text(semicolon), "printed", read_back, error)) << error;
    EXPECT_EQ(read_back.vm_names, semicolon.vm_names);
    EXPECT_EQ(again.cursor_mode, pipewire::CursorMode::Hidden);
    EXPECT_TRUE(again.camera);
    EXPECT_EQ(again.camera_fps, 25u);
    EXPECT_EQ(again.camera_size, (frame::Size{320, 240}));
}

TEST(CommandLine, WinsOverTheConfigFileAndAgainOnAReload) {
    const std::string path = write_file("wins.conf", "[vms]\nnames=a;b;\n[stream]\nmax-fps=30\n"
                                                     "[web]\nlisten=127.0.0.1:9001\n");
    Options running;
    running.command_line = {"vmcast", "--config", path, "--max-fps", "7", "--vm", "c", "run"};
    Options options;
    std::string error;
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.command, Command::Run);
    EXPECT_EQ(options.config_file, path);
    EXPECT_EQ(options.max_fps, 7u);
    EXPECT_EQ(options.vm_names, (std::vector<std::string>{"c"}));
    EXPECT_EQ(options.web_listen, "127.0.0.1:9001"); // from the file: the command line has none

    // The file changes; the command line's values still win.
    write_file("wins.conf", "[vms]\nnames=d;\n[stream]\nmax-fps=20\n[web]\nbitrate=300\n");
    ASSERT_TRUE(reread_options(options, running, error)) << error;
    EXPECT_EQ(running.max_fps, 7u);
    EXPECT_EQ(running.vm_names, (std::vector<std::string>{"c"}));
    EXPECT_EQ(running.web_bitrate_kbps, 300u);
    EXPECT_TRUE(running.web_listen.empty());
}

TEST(CommandLine, SharesTheConfigFilesChecks) {
    Options running;
    Options options;
    std::string error;
    running.command_line = {"vmcast", "--web", "--web-bitrate", "fast", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_EQ(error, "--web-bitrate: expected kbit/s from 100 to 100000, got \"fast\" (see vmcast "
                     "--help)");
    running.command_line = {"vmcast", "--cursor=shown", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_EQ(error, "--cursor: expected auto, embedded, metadata or hidden, got \"shown\" (see "
                     "vmcast --help)");
    running.command_line = {"vmcast", "--camera-fps=200", "--camera", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_EQ(error, "--camera-fps: expected frames a second from 1 to 120, got \"200\" (see "
                     "vmcast --help)");
    running.command_line = {"vmcast", "--camera-fps=10", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_NE(error.find("--camera-fps needs --camera"), std::string::npos) << error;
    running.command_line = {"vmcast", "--camera", "--camera-fps=10", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_TRUE(options.camera);
    EXPECT_EQ(options.camera_fps, 10u);
    running.command_line = {"vmcast", "--camera", "--camera-size=17x16", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_EQ(error, "--camera-size: expected WIDTHxHEIGHT, each even and from 16 to 8192, such "
                     "as 1280x720, got \"17x16\" (see vmcast --help)");
    running.command_line = {"vmcast", "--camera-size=320x240", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_NE(error.find("--camera-size needs --camera"), std::string::npos) << error;
    running.command_line = {"vmcast", "--camera", "--camera-size=16x8192", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.camera_size, (frame::Size{16, 8192}));
    running.command_line = {"vmcast", "--web-codec=vp8", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_NE(error.find("need --web"), std::string::npos) << error;
    // [web] listen in the file is enough for the --web-* options.
    const std::string path = write_file("listen.conf", "[web]\nlisten=:9002\n");
    running.command_line = {"vmcast", "--config", path, "--web-codec=vp8", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.web_codec, "vp8");
}

TEST(CommandLine, WaylandSocketIsNamedForTheVmOrGivenAndShownByConfig) {
    Options running;
    Options options;
    std::string error;
    running.command_line = {"vmcast", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_TRUE(options.wayland_socket.empty()); // off unless asked for
    running.command_line = {"vmcast", "--vm", "web1", "--wayland", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.wayland_socket, "vmcast-web1");
    running.command_line = {"vmcast", "--vm", "a", "--vm", "b", "--wayland", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.wayland_socket, "vmcast-0");
    running.command_line = {"vmcast", "--wayland=/run/user/1000/vmcast/wl", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.wayland_socket, "/run/user/1000/vmcast/wl");
    EXPECT_NE(config_text(options).find("[wayland]\nsocket=/run/user/1000/vmcast/wl\n"),
              std::string::npos)
        << config_text(options);
    running.command_line = {"vmcast", "--wayland=a/b", "run"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_NE(error.find("--wayland: expected a socket name"), std::string::npos) << error;
    running.command_line = {"vmcast", "--wayland", "list"};
    ASSERT_FALSE(reread_options(running, options, error));
    EXPECT_NE(error.find("--wayland goes with run"), std::string::npos) << error;
    // No name on the command line: the config file's socket stays.
    const std::string path = write_file("wayland.conf", "[wayland]\nsocket=vm-seen\n");
    running.command_line = {"vmcast", "--config", path, "--wayland", "run"};
    ASSERT_TRUE(reread_options(running, options, error)) << error;
    EXPECT_EQ(options.wayland_socket, "vm-seen");
}

} // namespace
} // namespace vmcast::app
