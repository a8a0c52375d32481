"""Entry-point plugins found through real distribution metadata (a .dist-info folder on sys.path), in a fresh process."""

import json
import subprocess
import sys
import textwrap


def _distribution(root, name, module_source):
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[kssl]\n{name} = {name}\n")


def _run(root, code):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(root)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, env=env, cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plugin_imported_before_kssl_keeps_its_components_and_a_hookless_one_is_reported(tmp_path):
    _distribution(
        tmp_path,
        "early_plugin",
        """
        import kssl  # loads kssl's registry while this module is still being imported

        def tiny_encoder(input_shape):
            raise NotImplementedError

        @kssl.hookimpl
        def kssl_register(registry):
            registry.add("encoder", "early_encoder", tiny_encoder)
    """,
    )
    _distribution(tmp_path, "hookless_plugin", "VALUE = 1\n")
    result = _run(
        tmp_path,
        """
        import json
        import early_plugin  # the plugin first, kssl through it
        import kssl

        registry = kssl.get_registry()
        print(json.dumps({
            "names": registry.names("encoder"),
            "provider": registry.entry("encoder", "early_encoder").provider,
            "broken": [[b.name, b.reason] for b in registry.broken],
        }))
    """,
    )
    assert "early_encoder" in result["names"] and result["provider"] == "early_plugin"
    assert result["broken"] == [["hookless_plugin", "hookless_plugin defines no kssl_register hook"]]
