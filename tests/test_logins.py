"""Which seeded account each virtual user logs in as: one of its own, never shared."""

import pytest

from loadtest import logins


class TestNeeded:
    def test_one_account_per_user_in_one_process(self):
        assert logins.needed(50) == 50

    @pytest.mark.parametrize("users, processes, needed", [(4, 2, 4), (5, 2, 6), (50, 3, 51)])
    def test_every_process_gets_as_many_as_its_largest_share(self, users, processes, needed):
        assert logins.needed(users, processes) == needed


class TestNumbers:
    def test_the_processes_hand_out_every_account_and_none_twice(self):
        shares = [logins.numbers(10, process=k, processes=3) for k in range(3)]

        assert [list(share) for share in shares] == [[1, 4, 7, 10], [2, 5, 8], [3, 6, 9]]

    def test_enough_accounts_give_each_process_its_largest_share(self):
        users, processes = 5, 2
        seeded = logins.needed(users, processes)

        shares = [logins.numbers(seeded, process=k, processes=processes) for k in range(2)]

        assert all(len(share) >= -(-users // processes) for share in shares)


class TestPool:
    def test_a_user_takes_the_lowest_free_account_and_gives_it_back(self):
        pool = logins.Pool([3, 1, 2])

        first, second = pool.take(), pool.take()
        pool.give_back(first)

        assert (first, second) == (1, 2)
        assert pool.take() == 1
        assert pool.take() == 3

    def test_no_account_is_handed_out_twice_while_held(self):
        pool = logins.Pool(range(1, 4))

        taken = [pool.take() for _ in range(3)]

        assert sorted(taken) == [1, 2, 3]
        assert pool.take() is None

    def test_a_new_test_starts_with_every_account_free(self):
        pool = logins.Pool([1, 2])
        pool.take()

        pool.fill([1, 2])

        assert len(pool) == 2


class TestPlan:
    def test_the_accounts_a_copy_lacks_are_added(self):
        assert logins.plan(users=50, processes=0, seeded=20) == {
            "users": 50,
            "needed": 50,
            "seeded": 20,
            "added": 30,
        }

    def test_none_are_added_when_enough_are_seeded(self):
        assert logins.plan(users=10, processes=0, seeded=20)["added"] == 0
