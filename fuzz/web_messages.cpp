// The page's messages as a browser sends them: signalling on the WebSocket and input on the
// data channel, through the parsers the publisher calls.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "web/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    std::string error;
    vmcast::web::SignallingMessage signalling;
    vmcast::web::parse_signalling(text, signalling, error);
    vmcast::web::InputMessage input;
    vmcast::web::parse_input(text, input, error);
    vmcast::web::input_type(text);
    return 0;
}
