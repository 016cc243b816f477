// The page's tokens kept in vmcast's state directory: made once, 0600 in a 0700 directory, read
// back the same at the next start, and refused (naming the file) when wrong.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <glib.h>

#include "app/web_tokens.h"

namespace vmcast::app {
namespace {

class WebTokens : public testing::Test {
  protected:
    void SetUp() override {
        gchar *made = g_dir_make_tmp("vmcast-tokens-XXXXXX", nullptr);
        ASSERT_NE(made, nullptr);
        root_ = made;
        g_free(made);
        g_setenv("XDG_STATE_HOME", root_.c_str(), TRUE);
        g_unsetenv("STATE_DIRECTORY");
        path_ = root_ + "/vmcast/web-tokens";
    }
    void TearDown() override {
        unlink(path_.c_str());
        rmdir((root_ + "/vmcast").c_str());
        rmdir(root_.c_str());
    }

    std::string root_;
    std::string path_;
};

mode_t mode_of(const std::string &path) {
    struct stat info = {};
    EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
}

TEST_F(WebTokens, KeptAcrossStartsInThePrivateStateDirectory) {
    Options options;
    web::AccessTokens first = web::AccessTokens::generate();
    std::string error;
    ASSERT_TRUE(load_web_tokens(options, first, error)) << error;
    EXPECT_EQ(state_directory(), root_ + "/vmcast");
    EXPECT_EQ(mode_of(root_ + "/vmcast"), 0700u);
    EXPECT_EQ(mode_of(path_), 0600u);
    web::AccessTokens second = web::AccessTokens::generate();
    ASSERT_TRUE(load_web_tokens(options, second, error)) << error;
    EXPECT_EQ(second.full(), first.full());
    EXPECT_EQ(second.view(), first.view());
    std::ifstream file(path_);
    std::string full, view;
    std::getline(file, full);
    std::getline(file, view);
    EXPECT_EQ(full, first.full());
    EXPECT_EQ(view, first.view());
}

TEST_F(WebTokens, SystemdsStateDirectoryComesFirst) {
    g_setenv("STATE_DIRECTORY", (root_ + "/vmcast:/elsewhere").c_str(), TRUE);
    EXPECT_EQ(state_directory(), root_ + "/vmcast");
    g_unsetenv("STATE_DIRECTORY");
}

TEST_F(WebTokens, AFileOthersMayReadOrWithBadTokensIsRefused) {
    Options options;
    web::AccessTokens tokens = web::AccessTokens::generate();
    std::string error;
    ASSERT_TRUE(load_web_tokens(options, tokens, error)) << error;
    ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
    EXPECT_FALSE(load_web_tokens(options, tokens, error));
    EXPECT_EQ(error, path_ + " must be a file of vmcast's user that only it may read (mode "
                             "0600); fix it, or remove it for new tokens");
    ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
    std::ofstream(path_) << "short\n";
    EXPECT_FALSE(load_web_tokens(options, tokens, error));
    EXPECT_NE(error.find(path_), std::string::npos) << error;
}

TEST_F(WebTokens, TheTokenFileOptionIsReadInstead) {
    const std::string file = root_ + "/mine";
    std::ofstream(file) << "full-access-token-0123456789\nview-only-token-9876543210\n";
    Options options;
    options.web_token_file = file;
    web::AccessTokens tokens = web::AccessTokens::generate();
    std::string error;
    ASSERT_TRUE(load_web_tokens(options, tokens, error)) << error;
    EXPECT_EQ(tokens.full(), "full-access-token-0123456789");
    EXPECT_FALSE(g_file_test(path_.c_str(), G_FILE_TEST_EXISTS)) << "the state file was made";
    unlink(file.c_str());
}

TEST_F(WebTokens, AFileWithoutAViewOnlyTokenKeepsTheOneInUse) {
    const std::string file = root_ + "/full-only";
    std::ofstream(file) << "full-access-token-0123456789\n";
    Options options;
    options.web_token_file = file;
    web::AccessTokens tokens = web::AccessTokens::generate();
    const std::string started_with = tokens.view();
    std::string error;
    ASSERT_TRUE(load_web_tokens(options, tokens, error)) << error;
    EXPECT_EQ(tokens.view(), started_with);
    // Read again (a reload) with the tokens in use: the same view-only token.
    web::AccessTokens reloaded = tokens;
    ASSERT_TRUE(load_web_tokens(options, reloaded, error)) << error;
    EXPECT_EQ(reloaded.view(), tokens.view());
    unlink(file.c_str());
}

} // namespace
} // namespace vmcast::app
