"""Reading SWORD modules and fetching Debian packages: failures name the module or package."""

import pytest

from memkd.corpora.sword import read_module
from memkd.debian import fetch_and_unpack
from memkd.errors import InputError


def test_missing_sword_folder_names_module_and_package(tmp_path):
    with pytest.raises(InputError, match=r"spaRV1909eb.*sword-text-sparv"):
        read_module(tmp_path, "spaRV1909eb")


def test_module_absent_from_sword_folder_names_it(tmp_path):
    (tmp_path / "mods.d").mkdir()
    with pytest.raises(InputError, match=r"engWEB2015eb not found.*sword-text-web"):
        read_module(tmp_path, "engWEB2015eb")


def test_unknown_debian_package_is_named_and_leaves_nothing(tmp_path):
    dest = tmp_path / "resources" / "sword-text-doesnotexist"
    with pytest.raises(InputError, match="Debian package sword-text-doesnotexist"):
        fetch_and_unpack("sword-text-doesnotexist", dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []
