"""The end-to-end suites run against both chat.z.ai dialects, one server per dialect.

A module in ONE_DIALECT runs against the 2025 fake only; a test marked `@pytest.mark.dialect("2026")`
runs against that dialect only."""
DIALECTS = ("2025", "2026")
ONE_DIALECT = {"test_dashboard_page", "test_docs_page", "test_metrics", "test_shared_limits"}


def pytest_generate_tests(metafunc):
    if "fake" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("dialect")
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if marker:
        dialects = marker.args
    else:
        dialects = ("2025",) if module in ONE_DIALECT else DIALECTS
    metafunc.parametrize("fake", dialects, indirect=True, scope="session")
