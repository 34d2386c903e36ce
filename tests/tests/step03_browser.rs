//! Step 03 through a real browser: headless Chromium fills in the form, as a learner would.

use fantoccini::Locator;
use tests::{browser::ChromeDriver, xtask::Launched};

/// Typing into the form and pressing Send shows "Thanks, Pika!" and stores the row.
#[tokio::test]
async fn a_browser_fills_in_the_form() {
    let launched = Launched::up(3);
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    browser
        .goto(&launched.base())
        .await
        .expect("the survey page loads");
    for (field, value) in tests::http::PIKA {
        let input = browser
            .find(Locator::Id(field))
            .await
            .expect("a form field");
        input.send_keys(value).await.expect("typing");
    }
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the Send button")
        .click()
        .await
        .expect("clicking Send");
    // Wait for the thank-you page's own heading: a plain `h1` could still be the form's, about
    // to go stale as the browser navigates.
    let heading = browser
        .wait()
        .for_element(Locator::XPath(
            "//h1[starts-with(normalize-space(.), 'Thanks')]",
        ))
        .await
        .expect("the thank-you page after sending");
    let heading = heading.text().await.expect("the heading's text");
    assert_eq!(heading, "Thanks, Pika!");
    assert!(browser.current_url().await.expect("a URL").path() == "/thanks");
    // For people to look at: what the browser showed.
    let screenshot = browser.screenshot().await.expect("a screenshot");
    let target = tests::xtask::workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&target).expect("a screenshot directory");
    std::fs::write(target.join("step03-thanks.png"), screenshot).expect("saving the screenshot");
    browser.close().await.expect("closing the browser");

    let table = launched.psql("select * from cats");
    assert!(table.contains(" Pika | tortie | strawberry"), "{table}");
}
