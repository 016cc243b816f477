// Where the first JSON value of a text ends, so that json-glib 1.6 never parses a second one
// (it keeps memory for good each time: src/common/json_text.h).
#include <gtest/gtest.h>

#include "common/json_text.h"

TEST(JsonText, OneValueAndNothingAfterIt) {
    for (const char *one :
         {"{\"a\":1}", "{}\r\n", "  {\"a\":\"}\\\"{\"}  \n", "\"x\"", "12", "[1,2]", "{", ""})
        EXPECT_TRUE(vmcast::is_one_json_value(one)) << one;
}

TEST(JsonText, ASecondValueIsRefused) {
    for (const char *two : {"{\"a\":1}{\"b\":2}", "{\"event\": \"RESUME\"}{\"rn\": {}}",
                            "\"x\"\"x\"", "1 2", "not json", "true}", "{\"a\":\"}\\\"{\"} x"})
        EXPECT_FALSE(vmcast::is_one_json_value(two)) << two;
}
