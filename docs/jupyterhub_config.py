# The course's settings for a plain JupyterHub, in one place: the instructor guide shows them, and
# tests/test_hub.py starts a real hub with this file (two users, lesson 00 each), so the documented
# values are the tested ones. Load it from your hub's own configuration, which keeps your
# authenticator and spawner:
#     load_subconfig("/srv/faces-at-scale/docs/jupyterhub_config.py")
# Zero to JupyterHub (Kubernetes) takes the same values as singleuser.memory.guarantee: 1.5G and
# singleuser.memory.limit: 2G.
c = get_config()  # noqa: F821 (JupyterHub provides get_config when it loads this file)

# Each lesson stays within 1.5 GB in one kernel; 2 GB leaves room for JupyterLab itself and a second,
# idle kernel. Spawners that enforce memory (Docker, Kubernetes, systemd) apply these; a local-process
# spawner passes them on to the server as MEM_GUARANTEE / MEM_LIMIT only.
c.Spawner.mem_guarantee = "1.5G"
c.Spawner.mem_limit = "2G"
# Students land in JupyterLab (nbgitpuller links name the lesson to open after the pull).
c.Spawner.default_url = "/lab"
