// What the web publisher accepts from a browser: tokens, signalling and input messages, and the
// rate limiter that drops floods.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "qemu/clipboard_peer.h"
#include "web/access_tokens.h"
#include "web/bitrate_control.h"
#include "web/messages.h"
#include "web/rate_limiter.h"
#include "web/text_strokes.h"
#include "web/web_publisher.h"

namespace vmcast::web {
namespace {

std::string write_file(const std::string &name, const std::string &text) {
    const std::string path = testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
}

TEST(AccessTokens, GeneratedTokensAreDistinctAndValid) {
    const AccessTokens a = AccessTokens::generate();
    const AccessTokens b = AccessTokens::generate();
    EXPECT_TRUE(valid_token(a.full()));
    EXPECT_TRUE(valid_token(a.view()));
    EXPECT_NE(a.full(), a.view());
    EXPECT_NE(a.full(), b.full());
    EXPECT_EQ(a.check(a.full()), Access::Full);
    EXPECT_EQ(a.check(a.view()), Access::View);
    EXPECT_EQ(a.check(b.full()), Access::None);
    EXPECT_EQ(a.check(""), Access::None);
    EXPECT_EQ(a.check(a.full().substr(1)), Access::None);
    EXPECT_EQ(a.check(a.full() + "x"), Access::None);
}

TEST(AccessTokens, LoadsAFileAndRefusesBadTokens) {
    AccessTokens tokens = AccessTokens::generate();
    std::string error;
    ASSERT_TRUE(AccessTokens::load(
        write_file("both", "full-token-1234567890\nview-token-1234567890\n"), tokens, error))
        << error;
    EXPECT_EQ(tokens.full(), "full-token-1234567890");
    EXPECT_EQ(tokens.view(), "view-token-1234567890");
    ASSERT_TRUE(AccessTokens::load(write_file("one", "full-token-1234567890\n"), tokens, error));
    EXPECT_TRUE(valid_token(tokens.view()));
    EXPECT_FALSE(AccessTokens::load(write_file("short", "short\n"), tokens, error));
    EXPECT_NE(error.find("16 to 256"), std::string::npos) << error;
    EXPECT_FALSE(
        AccessTokens::load(write_file("space", "has space in the token 123\n"), tokens, error));
    EXPECT_FALSE(AccessTokens::load(
        write_file("same", "same-token-1234567890\nsame-token-1234567890\n"), tokens, error));
    EXPECT_FALSE(AccessTokens::load(testing::TempDir() + "missing", tokens, error));
}

TEST(Signalling, AcceptsAnswersAndCandidates) {
    SignallingMessage message;
    std::string error;
    ASSERT_TRUE(parse_signalling(R"({"type":"answer","sdp":"v=0\r\n"})", message, error)) << error;
    EXPECT_EQ(std::get<SdpAnswer>(message).sdp, "v=0\r\n");
    ASSERT_TRUE(parse_signalling(
        R"({"type":"ice","candidate":"candidate:1 1 UDP 1 127.0.0.1 9 typ host","sdpMLineIndex":1})",
        message, error));
    EXPECT_EQ(std::get<RemoteCandidate>(message).mline_index, 1u);
}

TEST(Signalling, RefusesWhatIsNotASignallingMessage) {
    SignallingMessage message;
    std::string error;
    for (const char *bad :
         {"", "nope", "[]", "{}", R"({"type":1})", R"({"type":"offer","sdp":"x"})",
          R"({"type":"answer"})", R"({"type":"answer","sdp":""})",
          R"({"type":"ice","candidate":"c","sdpMLineIndex":16})",
          R"({"type":"ice","candidate":"c","sdpMLineIndex":1.5})",
          R"({"type":"ice","candidate":7,"sdpMLineIndex":0})"}) {
        EXPECT_FALSE(parse_signalling(bad, message, error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
    const std::string huge = R"({"type":"answer","sdp":")" + std::string(70000, 'x') + "\"}";
    EXPECT_FALSE(parse_signalling(huge, message, error));
    EXPECT_NE(error.find("at most"), std::string::npos) << error;
}

TEST(Input, ParsesEveryKind) {
    InputMessage message;
    std::string error;
    ASSERT_TRUE(parse_input(R"({"type":"key","code":"KeyA","down":true})", message, error));
    EXPECT_EQ(std::get<KeyEvent>(message).qnum, 0x1eu);
    EXPECT_TRUE(std::get<KeyEvent>(message).down);
    ASSERT_TRUE(
        parse_input(R"({"type":"key","code":"ControlRight","down":false})", message, error));
    EXPECT_EQ(std::get<KeyEvent>(message).qnum, 0x9du);
    ASSERT_TRUE(parse_input(R"({"type":"move","x":1023,"y":0})", message, error));
    EXPECT_EQ(std::get<PointerPosition>(message).x, 1023);
    ASSERT_TRUE(parse_input(R"({"type":"motion","dx":-3,"dy":4.0})", message, error));
    EXPECT_EQ(std::get<PointerMotion>(message).dy, 4);
    ASSERT_TRUE(parse_input(R"({"type":"button","button":8,"down":true})", message, error));
    EXPECT_EQ(std::get<ButtonEvent>(message).button, 8u);
    ASSERT_TRUE(parse_input(R"({"type":"wheel","dx":0,"dy":-2})", message, error));
    EXPECT_EQ(std::get<WheelEvent>(message).vertical_steps, -2);
    ASSERT_TRUE(parse_input(R"({"type":"release"})", message, error));
    EXPECT_TRUE(std::holds_alternative<ReleaseAll>(message));
}

TEST(Input, RefusesUnknownKeysAndOutOfRangeValues) {
    InputMessage message;
    std::string error;
    EXPECT_FALSE(parse_input(R"({"type":"key","code":"Fn","down":true})", message, error));
    EXPECT_NE(error.find("unknown key code"), std::string::npos) << error;
    for (const char *bad :
         {R"({"type":"key","code":"KeyA"})", R"({"type":"key","code":"KeyA","down":1})",
          R"({"type":"move","x":-1,"y":0})", R"({"type":"move","x":65536,"y":0})",
          R"({"type":"move","x":"1","y":0})", R"({"type":"motion","dx":10001,"dy":0})",
          R"({"type":"motion","dx":1e300,"dy":0})", R"({"type":"button","button":9,"down":true})",
          R"({"type":"wheel","dx":0,"dy":101})", R"({"type":"paste"})", "{\"type\":\"move\""}) {
        EXPECT_FALSE(parse_input(bad, message, error)) << bad;
    }
    EXPECT_FALSE(parse_input(std::string(2000, ' '), message, error));
}

TEST(Input, DisplaySizesAndTouchesWithinRange) {
    InputMessage message;
    std::string error;
    ASSERT_TRUE(
        parse_input(R"({"type":"resize","width":1920,"height":1080,"widthMm":508,"heightMm":286})",
                    message, error));
    const auto &size = std::get<DisplaySize>(message);
    EXPECT_EQ(size.width, 1920u);
    EXPECT_EQ(size.height_mm, 286);
    ASSERT_TRUE(
        parse_input(R"({"type":"touch","kind":"end","slot":9,"x":0,"y":65535})", message, error));
    EXPECT_EQ(std::get<TouchEvent>(message).kind, qemu::TouchKind::End);
    EXPECT_EQ(std::get<TouchEvent>(message).slot, 9u);
    for (const char *bad :
         {R"({"type":"resize","width":319,"height":600,"widthMm":0,"heightMm":0})",
          R"({"type":"resize","width":800,"height":8193,"widthMm":0,"heightMm":0})",
          R"({"type":"resize","width":800,"height":600,"widthMm":10001,"heightMm":0})",
          R"({"type":"resize","width":800,"height":600})",
          R"({"type":"touch","kind":"begin","slot":10,"x":0,"y":0})",
          R"({"type":"touch","kind":"begin","slot":0,"x":-1,"y":0})",
          R"({"type":"touch","kind":"begin","slot":0,"x":0.5,"y":0})",
          R"({"type":"touch","kind":"poke","slot":0,"x":0,"y":0})"}) {
        EXPECT_FALSE(parse_input(bad, message, error)) << bad;
    }
}

TEST(Input, CombosAreTheirKeysInOrder) {
    InputMessage message;
    std::string error;
    ASSERT_TRUE(parse_input(R"({"type":"combo","name":"ctrl-alt-del"})", message, error));
    EXPECT_EQ(std::get<KeyCombo>(message).qnums, (std::vector<uint32_t>{0x1d, 0x38, 0xd3}));
    ASSERT_TRUE(parse_input(R"({"type":"combo","name":"ctrl-alt-f12"})", message, error));
    EXPECT_EQ(std::get<KeyCombo>(message).qnums, (std::vector<uint32_t>{0x1d, 0x38, 0x58}));
    ASSERT_TRUE(parse_input(R"({"type":"combo","name":"sysrq"})", message, error));
    EXPECT_EQ(std::get<KeyCombo>(message).qnums, (std::vector<uint32_t>{0x38, 0x54}));
    EXPECT_FALSE(parse_input(R"({"type":"combo","name":"ctrl-alt-f13"})", message, error));
    EXPECT_EQ(error, "unknown key combination \"ctrl-alt-f13\"");
    EXPECT_FALSE(parse_input(R"({"type":"combo","name":3})", message, error));
    ASSERT_TRUE(parse_input(R"({"type":"cancel-typing"})", message, error));
    EXPECT_TRUE(std::holds_alternative<CancelTyping>(message));
}

TEST(Input, TypeTextIsLimitedAndNeedsAKnownLayout) {
    InputMessage message;
    std::string error;
    ASSERT_TRUE(parse_input(R"({"type":"type","text":"zé@","layout":"de"})", message, error));
    EXPECT_EQ(std::get<TypeText>(message).text, "zé@");
    EXPECT_EQ(std::get<TypeText>(message).layout, "de");
    // Counted in characters, not bytes: 2000 "é" are 4000 bytes.
    std::string longest;
    for (size_t i = 0; i < kMaxTypedCharacters; ++i)
        longest += "é";
    EXPECT_TRUE(
        parse_input(R"({"type":"type","layout":"us","text":")" + longest + "\"}", message, error))
        << error;
    EXPECT_FALSE(
        parse_input(R"({"type":"type","layout":"us","text":")" + longest + "x\"}", message, error));
    EXPECT_EQ(error, "a text of 2001 characters is too long to type (at most 2000)");
    // Bytes are capped before the text is looked at.
    const std::string padded = R"({"type":"type","layout":"us","text":"a",")" +
                               std::string(kMaxTypeMessageBytes, 'p') + "\":1}";
    EXPECT_FALSE(parse_input(padded, message, error));
    EXPECT_EQ(error.rfind("message of ", 0), 0u) << error;
    EXPECT_FALSE(parse_input(R"({"type":"type","text":"a","layout":"xx"})", message, error));
    EXPECT_EQ(error, "unknown keyboard layout \"xx\"");
    for (const char *bad :
         {R"({"type":"type","text":"","layout":"us"})", R"({"type":"type","text":"a"})",
          R"({"type":"type","text":7,"layout":"us"})"})
        EXPECT_FALSE(parse_input(bad, message, error)) << bad;
}

TEST(Input, TypeOfAMessageIsPeekedForViewOnlyViewers) {
    EXPECT_EQ(input_type(R"({"type":"resize","width":1})"), "resize");
    EXPECT_EQ(input_type("not json"), "");
    EXPECT_EQ(
        input_type(R"({"type":"resize","pad":")" + std::string(kMaxInputMessageBytes, 'p') + "\"}"),
        "");
}

// The strokes that type text with a layout, as "+qnum" and "-qnum".
std::string strokes_of(const char *layout, const char *text, std::string &error) {
    static TypingLayouts layouts;
    const compositor::LayoutKeys *keys = layouts.get(layout, error);
    std::vector<KeyStroke> strokes;
    if (!keys || !strokes_for_text(*keys, layout, text, strokes, error))
        return "";
    std::string written;
    for (const KeyStroke &stroke : strokes) {
        char one[16];
        std::snprintf(one, sizeof one, "%s%x ", stroke.down ? "+" : "-", stroke.qnum);
        written += one;
    }
    return written;
}

TEST(TextStrokes, UsesShiftAndAltGrAsTheLayoutNeeds) {
    std::string error;
    // US: Z is Shift+z (0x2c), "@" Shift+2, a line end Enter.
    EXPECT_EQ(strokes_of("us", "zZ@\n", error), "+2c -2c +2a +2c -2c -2a +2a +3 -3 -2a +1c -1c ")
        << error;
    // German: z and y swap keys, "@" is AltGr (0xb8) + Q, "€" AltGr + E.
    EXPECT_EQ(strokes_of("de", "zy@€", error), "+15 -15 +2c -2c +b8 +10 -10 -b8 +b8 +12 -12 -b8 ")
        << error;
    // A Windows line end types one Enter.
    EXPECT_EQ(strokes_of("fr", "a\r\n", error), "+10 -10 +1c -1c ") << error;
}

TEST(TextStrokes, RefusesWhatTheLayoutCannotTypeNamingIt) {
    std::string error;
    EXPECT_EQ(strokes_of("us", "price: 5 € or 4 £", error), "");
    EXPECT_EQ(error, "the keyboard layout \"us\" cannot type \"€\" (U+20AC), \"£\" (U+00A3); "
                     "nothing was typed");
    EXPECT_EQ(strokes_of("de", "a\x07", error), "");
    EXPECT_EQ(error, "the keyboard layout \"de\" cannot type U+0007; nothing was typed");
    EXPECT_EQ(strokes_of("us", "αβγδεζη", error), "");
    EXPECT_NE(error.find("and more"), std::string::npos) << error;
}

TEST(Input, ErrorRepliesAreJson) {
    EXPECT_EQ(error_message_json("a \"quoted\" reason"),
              R"({"type":"error","message":"a \"quoted\" reason"})");
}

TEST(RateLimiter, AllowsABurstThenTheRate) {
    RateLimiter limit(10, 5);
    int64_t now = 1'000'000;
    int allowed = 0;
    for (int i = 0; i < 20; ++i)
        allowed += limit.allow_at(now);
    EXPECT_EQ(allowed, 5);
    EXPECT_EQ(limit.dropped(), 15u);
    now += 500'000; // half a second: 5 more
    allowed = 0;
    for (int i = 0; i < 20; ++i)
        allowed += limit.allow_at(now);
    EXPECT_EQ(allowed, 5);
}

TEST(InputMessages, ClipboardPiecesMayBeLargerThanOtherInput) {
    InputMessage message;
    std::string error;
    const std::string piece(60000, 'x');
    ASSERT_TRUE(parse_input(R"({"type":"clipboard","text":")" + piece + R"(","last":false})",
                            message, error))
        << error;
    ASSERT_TRUE(std::holds_alternative<ClipboardPiece>(message));
    EXPECT_EQ(std::get<ClipboardPiece>(message).text, piece);
    EXPECT_FALSE(std::get<ClipboardPiece>(message).last);
    // A key message that large is refused; so is a piece over the clipboard limit.
    const std::string padded =
        R"({"type":"key","code":"KeyA","down":true,"pad":")" + std::string(2000, ' ') + R"("})";
    EXPECT_FALSE(parse_input(padded, message, error));
    EXPECT_NE(error.find("at most 1024"), std::string::npos) << error;
    EXPECT_FALSE(parse_input(R"({"type":"clipboard","text":")" + std::string(70000, 'x') +
                                 R"(","last":true})",
                             message, error));
    for (const char *bad :
         {R"({"type":"clipboard","text":5,"last":true})", R"({"type":"clipboard","text":"a"})",
          R"({"type":"clipboard","last":true})"}) {
        EXPECT_FALSE(parse_input(bad, message, error)) << bad;
        EXPECT_NE(error.find("clipboard message needs"), std::string::npos) << error;
    }
}

TEST(ClipboardText, KeepsUtf8WithinTheLimit) {
    std::string text, error;
    ASSERT_TRUE(qemu::clipboard_text_from_bytes("h\xc3\xa9llo \xe2\x9c\x93\n", text, error));
    EXPECT_EQ(text, "h\xc3\xa9llo \xe2\x9c\x93\n");
    // One trailing NUL, as some guest agents send, is dropped; a NUL inside is refused.
    ASSERT_TRUE(qemu::clipboard_text_from_bytes(std::string("abc\0", 4), text, error));
    EXPECT_EQ(text, "abc");
    EXPECT_FALSE(qemu::clipboard_text_from_bytes(std::string("a\0b", 3), text, error));
    EXPECT_FALSE(qemu::clipboard_text_from_bytes("\xc3\x28\xff", text, error));
    EXPECT_NE(error.find("UTF-8"), std::string::npos) << error;
    EXPECT_TRUE(
        qemu::clipboard_text_from_bytes(std::string(qemu::kMaxClipboardBytes, 'x'), text, error));
    EXPECT_FALSE(qemu::clipboard_text_from_bytes(std::string(qemu::kMaxClipboardBytes + 1, 'x'),
                                                 text, error));
    EXPECT_NE(error.find("limit"), std::string::npos) << error;
}

TEST(BitrateEstimate, BacksOffOnLossAndProbesUpWithout) {
    // 20% loss: down by a tenth; 5% loss: held; no loss: up by 5%.
    EXPECT_EQ(next_bitrate_estimate(4000, 0.20, 6000), 3600u);
    EXPECT_EQ(next_bitrate_estimate(4000, 0.05, 6000), 4000u);
    EXPECT_EQ(next_bitrate_estimate(4000, 0.0, 6000), 4201u);
    // Sustained heavy loss ends at the floor, a clean network climbs back to the ceiling and
    // stays there.
    uint32_t estimate = 6000;
    for (int report = 0; report < 60; ++report)
        estimate = next_bitrate_estimate(estimate, 0.5, 6000);
    EXPECT_EQ(estimate, kMinBitrateKbps);
    int reports = 0;
    while (estimate < 6000 && reports < 1000) {
        estimate = next_bitrate_estimate(estimate, 0.0, 6000);
        ++reports;
    }
    EXPECT_EQ(estimate, 6000u);
    EXPECT_GT(reports, 30); // probing is slow: about a minute from the floor
    EXPECT_EQ(next_bitrate_estimate(6000, 0.0, 6000), 6000u);
    // A fraction over 1 (a malformed report) counts as total loss: halved, not negative.
    EXPECT_EQ(next_bitrate_estimate(6000, 7.0, 6000), 3000u);
    // A ceiling under the floor wins.
    EXPECT_EQ(next_bitrate_estimate(200, 0.5, 200), 200u);
}

TEST(ListenAddress, ParsesHostsAndPorts) {
    std::string host;
    uint16_t port = 0;
    std::string error;
    ASSERT_TRUE(parse_listen_address("127.0.0.1:9000", host, port, error)) << error;
    EXPECT_EQ(host, "127.0.0.1");
    EXPECT_EQ(port, 9000);
    ASSERT_TRUE(parse_listen_address("0.0.0.0", host, port, error));
    EXPECT_EQ(port, 8081);
    ASSERT_TRUE(parse_listen_address(":8443", host, port, error));
    EXPECT_EQ(host, "127.0.0.1");
    ASSERT_TRUE(parse_listen_address("[::1]:8082", host, port, error));
    EXPECT_EQ(host, "::1");
    EXPECT_EQ(port, 8082);
    for (const char *bad :
         {"localhost:80", "1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4:x", "[::1", "[::1]x"})
        EXPECT_FALSE(parse_listen_address(bad, host, port, error)) << bad;
}

} // namespace
} // namespace vmcast::web
