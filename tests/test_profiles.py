"""Load profiles: named, rescalable, and out of the locustfile unless asked for."""

import pytest

from loadtest import profiles


class TestProfiles:
    def test_every_profile_the_docs_name_exists(self):
        assert set(profiles.PROFILES) == {
            "replay",
            "smoke",
            "basic",
            "spike",
            "endurance",
            "stress",
        }

    @pytest.mark.parametrize(
        "name, users, seconds",
        [
            ("smoke", 3, 15),
            ("basic", 10, 120),
            ("spike", 100, 60),
            ("endurance", 20, 600),
            ("stress", 500, 300),
        ],
    )
    def test_profiles_have_their_documented_peak_and_length(self, name, users, seconds):
        profile = profiles.PROFILES[name]

        assert (profile.peak_users, profile.run_time) == (users, seconds)

    def test_stress_ramps_up_and_stops_on_failures(self):
        stress = profiles.PROFILES["stress"]
        users = [step.users for step in stress.steps]

        assert users == sorted(users) and users[0] < 60 and users[-1] == 500
        assert stress.stop_at_fail_ratio == 0.05


class TestBuild:
    def test_overrides_rescale_users_and_time_in_proportion(self):
        spike = profiles.build("spike", users=50, run_time=30)

        assert [(s.until, s.users) for s in spike.steps] == [(7.5, 5), (22.5, 50), (30, 5)]

    def test_without_overrides_the_profile_is_unchanged(self):
        assert profiles.build("basic") == profiles.PROFILES["basic"]

    def test_an_unknown_profile_names_the_valid_ones(self):
        with pytest.raises(profiles.ProfileError, match="Profiles: replay, smoke, basic"):
            profiles.build("tsunami")

    def test_zero_users_is_refused(self):
        with pytest.raises(profiles.ProfileError):
            profiles.build("smoke", users=0)


class TestDuration:
    @pytest.mark.parametrize(
        "text, seconds", [("90", 90), ("90s", 90), ("2m", 120), ("1h30m", 5400), ("1.5", 1.5)]
    )
    def test_durations(self, text, seconds):
        assert profiles.parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "soon", "0", "-5s", "2x"])
    def test_bad_durations(self, text):
        with pytest.raises(profiles.ProfileError):
            profiles.parse_duration(text)


class TestFromEnvironment:
    def test_reads_the_profile_and_its_overrides(self, monkeypatch):
        monkeypatch.setenv("LOAD_PROFILE", "smoke")
        monkeypatch.setenv("LOAD_USERS", "6")
        monkeypatch.setenv("LOAD_RUN_TIME", "30s")

        profile = profiles.from_environment()

        assert (profile.name, profile.peak_users, profile.run_time) == ("smoke", 6, 30)

    def test_a_bad_value_stops_with_a_message(self, monkeypatch):
        monkeypatch.setenv("LOAD_PROFILE", "smoke")
        monkeypatch.setenv("LOAD_USERS", "many")

        with pytest.raises(SystemExit, match="LOAD_USERS='many' is not a whole number"):
            profiles.from_environment()
