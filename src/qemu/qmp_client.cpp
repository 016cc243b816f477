#include "qemu/qmp_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include <json-glib/json-glib.h>

#include "common/glib_ptr.h"
#include "common/json_text.h"

namespace vmcast::qemu {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kQmpTimeout = std::chrono::seconds(10);
// No answer to the commands vmcast sends comes near this; a longer line means a wrong peer.
constexpr size_t kMaxLineBytes = 1 << 20;
// QEMU files our socket under this name between getfd and add_client. A later getfd with the
// same name replaces it, so failed attempts never pile up descriptors in QEMU.
constexpr const char *kClientFdName = "vmcast";

struct JsonNodeUnref {
    void operator()(JsonNode *node) const { json_node_unref(node); }
};

std::string request_json(const std::string &command, const QmpArguments &arguments) {
    GObjectPtr<JsonBuilder> builder(json_builder_new());
    json_builder_begin_object(builder.get());
    json_builder_set_member_name(builder.get(), "execute");
    json_builder_add_string_value(builder.get(), command.c_str());
    if (!arguments.empty()) {
        json_builder_set_member_name(builder.get(), "arguments");
        json_builder_begin_object(builder.get());
        for (const auto &[name, value] : arguments) {
            json_builder_set_member_name(builder.get(), name.c_str());
            json_builder_add_string_value(builder.get(), value.c_str());
        }
        json_builder_end_object(builder.get());
    }
    json_builder_end_object(builder.get());
    std::unique_ptr<JsonNode, JsonNodeUnref> root(json_builder_get_root(builder.get()));
    GCharPtr text(json_to_string(root.get(), FALSE));
    return text.get();
}

// The JSON object on one line from QEMU (owned by parser), or nullptr when it is not one.
JsonObject *parse_object(JsonParser *parser, const std::string &line) {
    if (!is_one_json_value(line) ||
        !json_parser_load_from_data(parser, line.data(), gssize(line.size()), nullptr))
        return nullptr;
    JsonNode *root = json_parser_get_root(parser);
    return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : nullptr;
}

// QMP errors look like {"error": {"class": "GenericError", "desc": "..."}}.
std::string error_description(JsonObject *reply) {
    JsonNode *error = json_object_get_member(reply, "error");
    if (!JSON_NODE_HOLDS_OBJECT(error))
        return "no reason given";
    JsonNode *desc = json_object_get_member(json_node_get_object(error), "desc");
    if (!desc || !JSON_NODE_HOLDS_VALUE(desc) || json_node_get_value_type(desc) != G_TYPE_STRING)
        return "no reason given";
    return json_node_get_string(desc);
}

// One add_dbus_display_client_async: the worker fills in socket and error.
struct DisplayClientRequest {
    std::string qmp_socket;
    DisplayClientDone done;
    UniqueFd socket;
    std::string error;
};

void ask_monitor(GTask *task, gpointer, gpointer data, GCancellable *) {
    auto *request = static_cast<DisplayClientRequest *>(data);
    request->socket = add_dbus_display_client(request->qmp_socket, request->error);
    g_task_return_boolean(task, TRUE);
}

void on_monitor_task_done(GObject *, GAsyncResult *result, gpointer) {
    auto *request = static_cast<DisplayClientRequest *>(g_task_get_task_data(G_TASK(result)));
    // Taken out first, so that the caller's callback is destroyed on the caller's thread: the
    // worker may drop the task's last reference, and the request with it.
    DisplayClientDone done = std::move(request->done);
    GError *raw_error = nullptr;
    const bool answered = g_task_propagate_boolean(G_TASK(result), &raw_error);
    GErrorPtr cancelled(raw_error);
    if (!answered)
        return; // whoever asked is gone
    done(std::move(request->socket), std::move(request->error));
}

// A peer's line cut short and made safe to put into a one-line error message.
std::string printable(const std::string &line) {
    constexpr size_t kMaxShown = 80;
    std::string shown;
    for (char c : line.substr(0, kMaxShown))
        shown += g_ascii_isprint(c) ? c : ' ';
    while (!shown.empty() && shown.back() == ' ')
        shown.pop_back();
    return line.size() > kMaxShown ? shown + "..." : shown;
}

} // namespace

QmpClient::QmpClient(UniqueFd socket, std::string socket_path, std::chrono::seconds timeout)
    : socket_(std::move(socket)), socket_path_(std::move(socket_path)), timeout_(timeout),
      deadline_(Clock::now() + timeout) {
    // On a unix socket, connect() and sendmsg() give up after SO_SNDTIMEO (a full backlog or
    // a monitor that stopped reading); reads wait in poll() until the deadline instead.
    const timeval send_timeout{time_t(timeout.count()), 0};
    setsockopt(socket_.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
}

std::unique_ptr<QmpClient> QmpClient::connect(const std::string &socket_path,
                                              std::chrono::seconds timeout, std::string &error) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.empty() || socket_path.size() >= sizeof(address.sun_path)) {
        error = "cannot use QMP socket '" + socket_path + "': the path is empty or too long";
        return nullptr;
    }
    memcpy(address.sun_path, socket_path.c_str(), socket_path.size());
    UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.valid()) {
        error = std::string("cannot create a socket for QMP: ") + strerror(errno);
        return nullptr;
    }
    std::unique_ptr<QmpClient> client(new QmpClient(std::move(socket), socket_path, timeout));
    if (::connect(client->socket_.get(), reinterpret_cast<const sockaddr *>(&address),
                  sizeof address) < 0) {
        error = "cannot connect to QMP socket " + socket_path + ": " + strerror(errno);
        return nullptr;
    }
    return client->greet(error) ? std::move(client) : nullptr;
}

std::unique_ptr<QmpClient> QmpClient::start(UniqueFd socket, const std::string &name,
                                            std::chrono::seconds timeout, std::string &error) {
    std::unique_ptr<QmpClient> client(new QmpClient(std::move(socket), name, timeout));
    return client->greet(error) ? std::move(client) : nullptr;
}

bool QmpClient::greet(std::string &error) {
    std::string greeting;
    if (!read_line(greeting, error))
        return false;
    GObjectPtr<JsonParser> parser(json_parser_new());
    JsonObject *message = parse_object(parser.get(), greeting);
    if (!message || !json_object_has_member(message, "QMP")) {
        error = socket_path_ + " is not a QMP monitor socket (it greeted with '" +
                printable(greeting) + "')";
        return false;
    }
    return execute("qmp_capabilities", {}, -1, error);
}

bool QmpClient::execute(const std::string &command, const QmpArguments &arguments, int fd_to_pass,
                        std::string &error) {
    if (!send_all(request_json(command, arguments) + "\n", fd_to_pass, error))
        return false;
    for (;;) {
        std::string line;
        if (!read_line(line, error))
            return false;
        GObjectPtr<JsonParser> parser(json_parser_new());
        JsonObject *reply = parse_object(parser.get(), line);
        if (reply && json_object_has_member(reply, "event"))
            continue; // asynchronous, may come before any answer
        if (reply && json_object_has_member(reply, "return"))
            return true;
        if (reply && json_object_has_member(reply, "error")) {
            error = "QEMU refused QMP " + command + ": " + error_description(reply);
            return false;
        }
        error = "unexpected answer to QMP " + command + " on " + socket_path_ + ": '" +
                printable(line) + "'";
        return false;
    }
}

bool QmpClient::send_all(const std::string &text, int fd_to_pass, std::string &error) {
    size_t sent = 0;
    while (sent < text.size()) {
        iovec chunk{const_cast<char *>(text.data() + sent), text.size() - sent};
        msghdr message{};
        message.msg_iov = &chunk;
        message.msg_iovlen = 1;
        // QEMU keeps a descriptor that arrives with the command's bytes for that command.
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        if (fd_to_pass >= 0 && sent == 0) {
            message.msg_control = control;
            message.msg_controllen = sizeof control;
            cmsghdr *header = CMSG_FIRSTHDR(&message);
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            header->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(header), &fd_to_pass, sizeof(int));
        }
        const ssize_t written = sendmsg(socket_.get(), &message, MSG_NOSIGNAL);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0) {
            const bool timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
            error = "cannot write to QMP socket " + socket_path_ + ": " +
                    (timed_out ? std::string("QEMU stopped reading") : strerror(errno));
            return false;
        }
        sent += size_t(written);
    }
    return true;
}

bool QmpClient::read_line(std::string &line, std::string &error) {
    for (;;) {
        const size_t end = received_.find('\n');
        if (end != std::string::npos) {
            line = received_.substr(0, end);
            received_.erase(0, end + 1);
            return true;
        }
        if (received_.size() > kMaxLineBytes) {
            error = "QMP socket " + socket_path_ + " sent a line longer than 1 MiB";
            return false;
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
        pollfd readable{socket_.get(), POLLIN, 0};
        const int ready = left.count() > 0 ? poll(&readable, 1, int(left.count())) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            error = "no answer on QMP socket " + socket_path_ + " within " +
                    std::to_string(timeout_.count()) +
                    " s (a monitor serves one client at a time: is another one connected?)";
            return false;
        }
        char buffer[4096];
        const ssize_t got = ready < 0 ? -1 : recv(socket_.get(), buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            error = "cannot read QMP socket " + socket_path_ + ": " + strerror(errno);
            return false;
        }
        if (got == 0) {
            error = "QEMU closed QMP socket " + socket_path_;
            return false;
        }
        received_.append(buffer, size_t(got));
    }
}

UniqueFd add_dbus_display_client(const std::string &qmp_socket, std::string &error) {
    std::unique_ptr<QmpClient> qmp = QmpClient::connect(qmp_socket, kQmpTimeout, error);
    return qmp ? add_dbus_display_client(*qmp, error) : UniqueFd();
}

UniqueFd add_dbus_display_client(QmpClient &qmp, std::string &error) {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0) {
        error = std::string("cannot create a socket pair: ") + strerror(errno);
        return {};
    }
    UniqueFd our_end(sockets[0]);
    UniqueFd qemu_end(sockets[1]);
    if (!qmp.execute("getfd", {{"fdname", kClientFdName}}, qemu_end.get(), error))
        return {};
    // QEMU holds its own copy now. add_client takes it out of the monitor's list again,
    // whether it accepts the client or not.
    qemu_end.reset();
    if (!qmp.execute("add_client", {{"protocol", "@dbus-display"}, {"fdname", kClientFdName}}, -1,
                     error)) {
        error += " (--qmp needs QEMU started with -display dbus,p2p=yes)";
        return {};
    }
    return our_end;
}

void add_dbus_display_client_async(const std::string &qmp_socket, GCancellable *cancellable,
                                   DisplayClientDone done) {
    GObjectPtr<GTask> task(g_task_new(nullptr, cancellable, on_monitor_task_done, nullptr));
    g_task_set_task_data(task.get(), new DisplayClientRequest{qmp_socket, std::move(done), {}, {}},
                         [](gpointer data) { delete static_cast<DisplayClientRequest *>(data); });
    g_task_run_in_thread(task.get(), ask_monitor);
}

} // namespace vmcast::qemu
