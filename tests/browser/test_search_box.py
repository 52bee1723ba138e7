"""A visitor types in the header's search box and lands on highlighted results."""

from tests.browser.conftest import screenshot


def test_typing_in_the_header_box_lands_on_the_results(live_server, page, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    page.goto(live_server + "/travaux/")
    box = page.get_by_role("search").get_by_label("Rechercher")
    box.fill("erreur 503")
    box.press("Enter")
    page.wait_for_url("**/search?q=erreur+503")
    titles = page.locator(".search-result .title").all_inner_texts()
    assert set(titles[:2]) == {"Hébergement web : erreurs 503 sur le serveur web7",
                               "Erreur 503 sur mon site WordPress depuis ce matin"}
    assert page.locator(".search-result mark").first.inner_text().lower() in ("erreur",
                                                                              "erreurs", "503")
    assert page.locator("#header-q").input_value() == "erreur 503"
    screenshot(page, "search-results")
