"""The per-source rules of the corpus: which registry files become which class.

Notebook: 01_generate_spectrograms.ipynb (the corpus it reads is built from these rules)

Each :class:`~audioclf_lib.corpus.rules.Rule` names its package(s), the folder and file
patterns it takes, the licence as read in the package's ``copyright`` file (after
unpacking; "per file" means the copyright file lists several licences for these files), and
in ``note`` what the files really are and why they get their class. Nobody listened to them:
labels follow file and folder names, durations and the packages' own descriptions and
credits, so files whose class is not clear from those are excluded by pattern rather than
relabelled. Sources held back after checking (and why) are listed at the end of this module.

Debian packages are those of Debian 12 (bookworm); PyPI and npm packages are pinned.
"""
from __future__ import annotations

from .rules import AUDIO_PATTERN, Archive, Rule

__all__ = ["SOURCES", "HELD_BACK"]

_AUDIO = AUDIO_PATTERN

# Archives inside packages (unpacked in place as <archive>.d/, audio members only).
_0AD = Archive("usr/share/games/0ad/mods/public/public.zip", r"^audio/")
_0AD_AUDIO = "usr/share/games/0ad/mods/public/public.zip.d/audio"
_UFOAI_SND = Archive("usr/share/games/ufoai/base/0snd.pk3", r"^sound/")
_UFOAI_SND_DIR = "usr/share/games/ufoai/base/0snd.pk3.d/sound"
_OA_PAK0 = Archive("usr/share/games/openarena/baseoa/pak0.pk3", r"^sound/")
_OA_PLAYERS = Archive("usr/share/games/openarena/baseoa/pak2-players.pk3", r"^sound/")
_GC = "usr/share/gcompris-qt/rcc"
_TRIGGER = Archive("usr/share/games/trigger-rally/data.zip", r"^sounds/")
_TRIGGER_DIR = "usr/share/games/trigger-rally/data.zip.d/sounds"
# Wesnoth's vocal sounds: people and fantasy creatures dying, getting hit, laughing, wailing
_WESNOTH_VOCAL = (r"/((human|human-female|human-old|dwarf|elf|orc|orc-small|goblin|ogre|troll|mermaid|mermen|"
                  r"naga)-(die|hit)[^/]*|groan|ugg|wail[^/]*|dwarf-laugh|witches-laugh)\.(ogg|wav)$")


def _gcompris(name: str) -> Archive:
    return Archive(f"{_GC}/{name}.rcc")


def _gcompris_dir(name: str) -> str:
    return f"{_GC}/{name}.rcc.d/gcompris/src/activities/{name}/resource"


_MEGAGLEST = "usr/share/games/megaglest"
# MegaGlest units that are not people (animals, monsters, machines, buildings)
_MEGAGLEST_NOT_HUMAN = (r"(anubis|mummy|chicken|bull|sheep|elephant|dragon|behemoth|daemon|golem|pig|thunderbird|"
                        r"beehive|snake|wild_sow|ornithopter|airship|battle_machine|catapult|ram_|eagle|genie|"
                        r"ghost_armor|wicker|flying_carpet|minaret|tower|horse_|drake|wolf|skeleton|undead)")

SOURCES: tuple[Rule, ...] = (
    # ============================================================================ music
    Rule("music", "deb_wesnoth_music", "debian", ("wesnoth-1.16-music",), "GPL-2+ (copyright: Files: *)",
         "Battle for Wesnoth soundtrack: orchestral and folk pieces, some with choir"),
    Rule("music", "deb_0ad_music", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games; copyright: art and audio)",
         "0 A.D. soundtrack: orchestral and world-music pieces (Greek, Celtic, Persian, Egyptian ...)",
         where=f"{_0AD_AUDIO}/music", archives=(_0AD,)),
    Rule("music", "deb_singularity_music", "debian", ("singularity-music",),
         "CC-BY-SA-3.0 (Max McCracken; the package README)",
         "Endgame: Singularity soundtrack: ambient electronic tracks"),
    Rule("music", "deb_drascula_music", "debian", ("drascula-music",), "Drascula-License (free redistribution)",
         "Drascula adventure game soundtrack (rock, pop and orchestral cues)",
         where="usr/share/scummvm/drascula/audio"),
    Rule("music", "deb_nexuiz_music", "debian", ("nexuiz-music",), "GPL-2+ (copyright)",
         "Nexuiz soundtrack: electronic, industrial and rock tracks",
         where="usr/share/games/nexuiz/data/music.pk3.d/sound/cdtracks",
         archives=(Archive("usr/share/games/nexuiz/data/music.pk3", r"^sound/"),)),
    Rule("music", "deb_warzone2100_music", "debian", ("warzone2100-music",), "GPL-2+ / CC-BY-SA-3.0 (see copyright)",
         "Warzone 2100 soundtrack: electronic and orchestral tracks (Opus)"),
    Rule("music", "deb_hyperrogue_music", "debian", ("hyperrogue-music",), "CC-BY-SA-3.0 / GPL-2+ (see copyright)",
         "HyperRogue soundtrack tracks only (hr*.ogg; the sound effects are left out)", include=r"/hr[^/]*\.ogg$"),
    Rule("music", "deb_planetblupi_music", "debian", ("planetblupi-music-ogg",), "GPL-3+ (copyright)",
         "Planet Blupi soundtrack rendered by upstream from MIDI, 10-29 min tracks"),
    Rule("music", "deb_asc_music", "debian", ("asc-music",), "GPL-2+ (copyright)",
         "Advanced Strategic Command: 3 rock/orchestral tracks, mp3 at 22 kHz"),
    Rule("music", "deb_colobot_music", "debian", ("colobot-common-sounds",), "GPL-3+ (copyright)",
         "Colobot soundtrack (electronic/ambient)", include=r"/music/.*\.ogg$"),
    Rule("music", "deb_extremetuxracer_music", "debian", ("extremetuxracer-data",), "GPL-2+ / CC0 (copyright)",
         "Extreme Tux Racer soundtrack (the .ogg files; its effects are .wav)", include=r"\.ogg$"),
    Rule("music", "deb_frozenbubble_music", "debian", ("frozen-bubble-data",), "GPL-2 (copyright)",
         "Frozen Bubble soundtrack (zik*.ogg)", include=r"zik[^/]*\.ogg$"),
    Rule("music", "deb_ufoai_music", "debian", ("ufoai-music",), "GPL-2+ / CC-BY-SA-3.0 (see copyright)",
         "UFO: Alien Invasion soundtrack: orchestral and electronic",
         where="usr/share/games/ufoai/base/0music.pk3.d/music",
         archives=(Archive("usr/share/games/ufoai/base/0music.pk3", r"^music/"),)),
    Rule("music", "deb_supertuxkart_music", "debian", ("supertuxkart-data",),
         "CC-BY-SA-3.0 / CC-BY-SA-4.0 / CC-BY-3.0 / GPL per file (copyright: data/music/*)",
         "SuperTuxKart soundtrack: 38 tracks by many composers (rock, pop, electronic, jazz, orchestral, chiptune); "
         "track themes in data/tracks are excluded (they sit next to sound effects and a speech clip)",
         where="usr/share/games/supertuxkart/data/music"),
    Rule("music", "deb_supertux_music", "debian", ("supertux-data",), "GPL-2+ / CC-BY-SA (copyright: data/music/*)",
         "SuperTux soundtrack: orchestral, chiptune (retro/), jazzy and ambient pieces",
         where="usr/share/games/supertux2/music"),
    Rule("music", "deb_widelands_music", "debian", ("widelands-data",), "GPL-2+ (copyright: Files: *)",
         "Widelands soundtrack: orchestral, folk and ambient pieces", where="usr/share/games/widelands/data/music"),
    Rule("music", "deb_freedroidrpg_music", "debian", ("freedroidrpg-data",), "GPL-2+ (copyright)",
         "FreedroidRPG soundtrack: electronic, ambient and rock tracks",
         where="usr/share/freedroidrpg/data/sound/music"),
    Rule("music", "deb_megaglest_music", "debian", ("megaglest-data",), "CC-BY-SA-3.0 (copyright: Files: *)",
         "MegaGlest faction and menu themes: orchestral, world (Egyptian, Indian, Persian, Norse) and epic pieces",
         where=_MEGAGLEST, include=r"/music/[^/]*\.(ogg|wav)$"),
    Rule("music", "deb_warmux_music", "debian", ("warmux-data",), "GPL-2+ (copyright: Files: *)",
         "Warmux soundtrack (menu and in-game tracks)", where="usr/share/games/warmux/music"),
    Rule("music", "deb_xmoto_music", "debian", ("xmoto-data",), "GPL-2+ (copyright)",
         "X-Moto soundtrack: rock and electronic tracks", where="usr/share/games/xmoto/Textures/Musics"),
    Rule("music", "deb_neverball_music", "debian", ("neverball-common",), "GPL-2+ (copyright)",
         "Neverball/Neverputt background music", where="usr/share/games/neverball/bgm"),
    Rule("music", "deb_tuxmath_music", "debian", ("tuxmath-data",), "GPL-3+ / CC-BY-SA-3.0 (copyright)",
         "Tux Math soundtrack: 3 electronic tracks (01_-03_*.ogg)", where="usr/share/tuxmath/sounds",
         include=r"/0\d_[^/]*\.ogg$"),
    Rule("music", "deb_gcompris_instruments", "debian", ("gcompris-qt-data",),
         "CC-BY-SA / CC-sampling-plus-1.0 / public domain per file (copyright: instruments/resource)",
         "GCompris 'instruments': solo instruments playing a phrase (piano, violin, cello, flute, saxophone, "
         "trumpet, organ, guitar, harp ...); unpitched single-percussion clips are excluded",
         where=_gcompris_dir("instruments"), archives=(_gcompris("instruments"),),
         exclude=r"/(cymbal|castanets|maracas|triangle|snare_drum|tambourine)\.ogg$"),
    Rule("music", "deb_gcompris_world_music", "debian", ("gcompris-qt-data",),
         "CC-BY-SA / public domain per file (copyright: explore_world_music)",
         "GCompris 'explore world music': a piece from each of Africa, America, Australia, Ireland, Italy, Japan, "
         "Mexico, the Middle East, and Beethoven", where=_gcompris_dir("explore_world_music"),
         archives=(_gcompris("explore_world_music"),)),
    Rule("music", "deb_lmms_loops", "debian", ("lmms-common",), "GPL-2+ (copyright: LMMS samples)",
         "LMMS sample loops: drum beats, breaks, basslines and synth riffs (electronic loops of a bar or two); "
         "single drum hits are excluded", where="usr/share/lmms/samples",
         include=r"^/(beats|bassloops)/[^/]*\.ogg$", exclude=r"rave_(hihat|kick|snare)"),
    Rule("music", "deb_lomiri_ringtones", "debian", ("lomiri-sounds",),
         "CC0-1.0 / CC-BY-3.0 / CC-BY-SA-3.0 / CC-BY-4.0 per file (copyright)",
         "Lomiri phone ringtones: short melodic pieces (piano, marimba, koto, harp, synth); "
         "the alarm-like ones are excluded", where="usr/share/sounds/lomiri/ringtones", exclude=r"/Alarm "),
    Rule("music", "pypi_arcade_music", "pypi", ("arcade==3.3.3",),
         "free to use (Anttis instrumentals, per arcade's music readme); arcade itself MIT",
         "two instrumental game tracks shipped with the arcade library", where="arcade/resources/assets/music"),

    # ============================================================================ speech
    Rule("speech", "deb_asterisk_prompts", "debian", tuple(f"asterisk-core-sounds-{lang}-wav"
                                                           for lang in ("en", "es", "fr", "it", "ru")),
         "CC-BY-SA-3.0 (copyright: Digium/Allison Smith and others)",
         "telephone voice prompts read by professional voices in English, Spanish, French, Italian, Russian; "
         "8 kHz band-limited", where="usr/share/asterisk/sounds", include=r"\.wav$",
         exclude=r"(/silence/|/beep|tt-monkeys|2tone)", max_files=500),
    Rule("speech", "deb_tuxpaint_desc", "debian", ("tuxpaint-stamps-default",), "GPL-2 (copyright)",
         "Tux Paint stamp descriptions read by volunteers in about 13 languages (adults and some children)",
         where="usr/share/tuxpaint/stamps", include=r"_desc[^/]*\.ogg$"),
    Rule("speech", "deb_klettres", "debian", ("klettres-data",), "GPL-2+ / CC0-1.0 (copyright)",
         "KLettres: letters and syllables spoken by native speakers of about 20 languages (children's lessons)"),
    Rule("speech", "deb_0ad_voices", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "0 A.D. unit acknowledgements acted in ancient Greek, Latin, Persian, Meroitic and others; the "
         "dog barks among them are excluded",
         where=f"{_0AD_AUDIO}/voice", archives=(_0AD,), exclude=r"dog_"),
    Rule("speech", "deb_megaglest_voices", "debian", ("megaglest-data",), "CC-BY-SA-3.0 (copyright: Files: *)",
         "MegaGlest unit voice lines (*_ack*, *_select*: 'yes', 'ready', short acted phrases in English) of the "
         "human units; animals, monsters and machines are excluded by name",
         where=_MEGAGLEST, include=r"_(ack|select)\d*\.(wav|ogg)$", exclude=_MEGAGLEST_NOT_HUMAN),
    Rule("speech", "deb_freedroidrpg_tux", "debian", ("freedroidrpg-data",), "GPL-2+ (copyright)",
         "FreedroidRPG: Tux's spoken in-game comments ('I can't carry any more' ...); the robots' "
         "voice samples (processed, partly synthetic) are not used",
         where="usr/share/freedroidrpg/data/sound/effects/tux_ingame_comments"),
    Rule("speech", "deb_channel_names", "debian", ("alsa-utils", "sound-theme-freedesktop"),
         "GPL-2 (alsa-utils) / CC-BY-SA-3.0 (sound-theme-freedesktop)",
         "speaker-test voices naming each loudspeaker ('front left' ...), two different voices",
         include=r"/((Front|Rear|Side)_[^/]*\.wav|audio-channel-[^/]*\.oga)$"),
    Rule("speech", "deb_linphone_hello", "debian", ("linphone-common",), "GPL-3+ (copyright)",
         "Linphone's recorded greeting used to test calls (16 kHz and 8 kHz copies)",
         include=r"/hello\d+\.wav$"),
    Rule("speech", "deb_trigger_rally_codriver", "debian", ("trigger-rally-data",), "GPL-2+ (copyright: data.zip)",
         "rally co-driver pace notes ('left', 'hairpin', 'gravel', 'don't cut' ...) spoken by three co-drivers "
         "(folders ab, paula, tim); recorded people by their folder names, not verified by ear",
         where=f"{_TRIGGER_DIR}/codriver", archives=(_TRIGGER,)),
    Rule("speech", "pypi_pyannote_sample", "pypi", ("pyannote-audio==4.0.7",), "MIT (pyannote.audio package)",
         "30 s of two people in conversation (the diarization example shipped with pyannote.audio)",
         where="pyannote/audio/sample"),

    # ============================================================================ noise
    Rule("noise", "deb_0ad_ambient", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "field-recording ambiences: rain, wind, water, birds, farm, town; trade/port ones (voices) excluded",
         where=f"{_0AD_AUDIO}/ambient", archives=(_0AD,), exclude=r"amb_(trade|port)"),
    Rule("noise", "deb_0ad_fauna", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "animal calls and animal deaths", where=f"{_0AD_AUDIO}/actor/fauna", archives=(_0AD,)),
    Rule("noise", "deb_0ad_foley", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "work foley: wood chopping, mining, building, farming, gathering", where=f"{_0AD_AUDIO}/resource",
         archives=(_0AD,)),
    Rule("noise", "deb_0ad_combat", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "weapons, impacts, fire, siege engines and destruction", where=f"{_0AD_AUDIO}/attack", archives=(_0AD,)),
    Rule("noise", "deb_0ad_footsteps", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "footsteps of people and horses, marching, ships' creaks and gates",
         where=f"{_0AD_AUDIO}/actor", include=r"^/(singlesteps|human/movement|mounted/movement|ship|gate)/",
         archives=(_0AD,)),
    Rule("noise", "deb_0ad_human_vocal", "debian", ("0ad-data",), "CC-BY-SA-3.0 (Wildfire Games)",
         "human non-speech vocal sounds: death cries, groans and screams of soldiers",
         where=f"{_0AD_AUDIO}/actor/human/death", archives=(_0AD,)),
    Rule("noise", "deb_ufoai_ambience", "debian", ("ufoai-sound",), "GPL-2+ / CC-BY-SA-3.0 / public domain (copyright)",
         "ambiences (wind, rain, machines, crowds at a distance); music-like and radio/TV ones excluded",
         where=f"{_UFOAI_SND_DIR}/ambience", archives=(_UFOAI_SND,), exclude=r"(disco|jingle|radiomessage|tv_news)"),
    Rule("noise", "deb_ufoai_footsteps", "debian", ("ufoai-sound",), "GPL-2+ / CC-BY-SA-3.0 / public domain",
         "footsteps on carpet, dirt, grass, gravel, metal, sand, snow, stone, tile, wood and water",
         where=f"{_UFOAI_SND_DIR}/footsteps", archives=(_UFOAI_SND,)),
    Rule("noise", "deb_ufoai_human_vocal", "debian", ("ufoai-sound",), "GPL-2+ / CC-BY-SA-3.0 / public domain",
         "human non-speech vocal sounds: soldiers' and civilians' hurt groans, death cries and screams, "
         "male and female", where=_UFOAI_SND_DIR, include=r"^/(soldiers|civilians)/[^/]*\.ogg$",
         archives=(_UFOAI_SND,)),
    Rule("noise", "deb_ufoai_weapons", "debian", ("ufoai-sound",), "GPL-2+ / CC-BY-SA-3.0 / public domain",
         "weapons, impacts and doors", where=_UFOAI_SND_DIR, include=r"^/(weapons|impact|doors)/",
         archives=(_UFOAI_SND,)),
    Rule("noise", "deb_wesnoth_ambient", "debian", ("wesnoth-1.16-data",), "GPL-2+ (copyright)",
         "ambient loops (birds, wind, water, fire, caves)", include=r"/sounds/ambient/"),
    Rule("noise", "deb_wesnoth_vocal", "debian", ("wesnoth-1.16-data",), "GPL-2+ (copyright)",
         "non-speech vocal sounds: men, women and old people dying and getting hit, dwarves, elves, orcs, "
         "trolls, ogres; groans, wails and laughs", where="usr/share/games/wesnoth/1.16/data/core/sounds",
         include=_WESNOTH_VOCAL),
    Rule("noise", "deb_wesnoth_sfx", "debian", ("wesnoth-1.16-data",), "GPL-2+ (copyright)",
         "weapons and impacts (swords, bows, axes, maces, spears, slings, guns, explosions, fire), animals "
         "(wolves, horses, gryphons, bats), horn signals; interface sounds, jingles, spells and vocal sounds "
         "excluded", where="usr/share/games/wesnoth/1.16/data/core/sounds",
         include=r"^/(horn-signals/)?[^/]*\.(ogg|wav)$",
         exclude=_WESNOTH_VOCAL + r"|/(arrive|button|chat[^/]*|checkbox|contract|expand|fanfare-short|gamestart|"
                 r"gold|heal|join|leave|receive|select[^/]*|slider|timer|bell|magic[^/]*|petrified|slowed|poison|"
                 r"potion)[^/]*\.(ogg|wav)$"),
    Rule("noise", "deb_trigger_rally_sfx", "debian", ("trigger-rally-data",), "GPL-2+ / CC0 (copyright: data.zip)",
         "rally car engine, gear change, gravel under tyres, wind, crash", where=_TRIGGER_DIR,
         include=r"^/[^/]*\.wav$", archives=(_TRIGGER,)),
    Rule("noise", "deb_tuxpaint_sfx", "debian", ("tuxpaint-stamps-default",), "GPL-2 (copyright)",
         "sounds of the stamps: animals, vehicles, household objects, weather; music instruments and symbols excluded",
         where="usr/share/tuxpaint/stamps", include=r"\.ogg$", exclude=r"(_desc|^/symbols/|/hobbies/music/)"),
    Rule("noise", "deb_tuxpaint_tools", "debian", ("tuxpaint-data",), "GPL-2+ (copyright)",
         "Tux Paint tool sounds: brushes, eraser, paint, clicks, bubbles, typewriter bell; the harp and the "
         "spoken prompts (areyousure, youcannot, tuxok, giggle) are excluded", where="usr/share/tuxpaint/sounds",
         exclude=r"/(harp|areyousure|youcannot|tuxok|giggle|prompt)\.wav$"),
    Rule("noise", "deb_extremetuxracer_sfx", "debian", ("extremetuxracer-data",), "GPL-2+ (copyright)",
         "sliding, snow and impact foley", include=r"\.wav$"),
    Rule("noise", "deb_supertuxkart_sfx", "debian", ("supertuxkart-data",),
         "CC-BY-SA-3.0 / CC-BY-3.0 / CC0 / GPL-2+ per file (copyright: data/sfx/*)",
         "SuperTuxKart sound effects: engines, horns, skids, crashes, jet plane, rain, river, waterfall, thunder, "
         "birds, fireworks, machines; fanfares, jingles, the airport announcement and voices excluded",
         where="usr/share/games/supertuxkart/data/sfx",
         exclude=r"/(WilhelmScream|ugh|wee|gnu_flute|last_lap_fanfare|race_finish|gp_end|goal_scored|pre_start_race|"
                 r"start_race|track_intro|sara_airport_pa|lenautile_restaurant|energy_bar|appear|locked|dark)"),
    Rule("noise", "deb_supertux_sfx", "debian", ("supertux-data",), "GPL-2+ / CC-BY-SA / CC0 per file (copyright)",
         "SuperTux sound effects: impacts, fire, ice, lava, rain, thunder, waterfall, phone, saw; jingles, "
         "voices and grunts excluded", where="usr/share/games/supertux2/sounds",
         exclude=r"/(excellent|welldone|tada|lifeup|grunts|yeti_|invincible|coins_cleared|upgrade|grow|hurt|"
                 r"kill|mr_tree|tree_howling|savebell)"),
    Rule("noise", "deb_widelands_sfx", "debian", ("widelands-data",), "GPL-2+ (copyright: Files: *)",
         "Widelands work and nature sounds: animals, farming, smiths, saws, mills, hammering, stone cutting, "
         "taverns (crowd murmur)", where="usr/share/games/widelands/data", include=r"^/(sound|world)/.*\.(ogg|wav)$",
         exclude=r"/(click|message_\d+|lobby_[^/]*|military/[^/]*)\.ogg$"),
    Rule("noise", "deb_megaglest_ambient", "debian", ("megaglest-data",), "CC-BY-SA-3.0 (copyright: Files: *)",
         "MegaGlest tileset ambiences: day and night forests, birds, owls, rain, wind, desert, cows, roosters",
         where=f"{_MEGAGLEST}/tilesets"),
    Rule("noise", "deb_megaglest_foley", "debian", ("megaglest-data",), "CC-BY-SA-3.0 (copyright: Files: *)",
         "MegaGlest unit sounds other than voice lines: attacks, swords, arrows, spells, building, harvesting, "
         "mining, walking machines, animals and monsters",
         where=f"{_MEGAGLEST}/techs/megapack/commondata/sounds",
         exclude=r"_(ack|select)\d*\.(wav|ogg)$"),
    Rule("noise", "deb_openarena_sfx", "debian", ("openarena-data",), "GPL-2+ (copyright)",
         "OpenArena weapons, items, doors, platforms, world ambiences and footsteps; announcer voice excluded",
         where="usr/share/games/openarena/baseoa/pak0.pk3.d/sound", archives=(_OA_PAK0,),
         exclude=r"^/(feedback|player/announcer|player/sarge|player/[^/]*\.wav$)"),
    Rule("noise", "deb_openarena_player_vocal", "debian", ("openarena-081-players",), "GPL-2+ (copyright)",
         "OpenArena player characters' non-speech sounds: pain, death, jump, drown, gasp, fall; taunts "
         "(which may hold words) excluded",
         where="usr/share/games/openarena/baseoa/pak2-players.pk3.d/sound/player", archives=(_OA_PLAYERS,),
         exclude=r"taunt"),
    Rule("noise", "deb_freedroidrpg_sfx", "debian", ("freedroidrpg-data",), "GPL-2+ (copyright)",
         "FreedroidRPG effects: blasts, bullets, glass, items, camera, menu clicks; robot voices and Tux's "
         "comments excluded", where="usr/share/freedroidrpg/data/sound/effects",
         exclude=r"^/(bot_sounds|tux_ingame_comments)/|ThouArtDefeated"),
    Rule("noise", "deb_minetest_sfx", "debian", ("minetest-data",), "CC-BY-SA-3.0 / CC0 per file (copyright)",
         "Minetest Game: footsteps on dirt, grass, gravel, snow, ice, metal, wood; digging, breaking glass, "
         "doors, chests, fire, lava, water and birds (env_sounds)",
         where="usr/share/games/minetest/games/minetest_game/mods"),
    Rule("noise", "deb_freeciv_sfx", "debian", ("freeciv-data",), "GPL-2+ (copyright)",
         "Freeciv standard sound set: cannons, explosions, machine guns, mortars, tank treads, hover, splash",
         where="usr/share/games/freeciv/stdsounds"),
    Rule("noise", "deb_neverball_sfx", "debian", ("neverball-common",), "GPL-2+ (copyright)",
         "Neverball effects: ball bounces and bumps, coins, switches, ticks; the spoken announcements "
         "(ready, set, go, goal, birdie, par ...) are left out by taking only these names",
         where="usr/share/games/neverball/snd",
         include=r"^/(ball|bink|bump|bumpbig|bumplil|coin|grow|jump|menu|shrink|switch|tick|tock)\.ogg$"),
    Rule("noise", "deb_tuxmath_sfx", "debian", ("tuxmath-data",), "GPL-3+ / CC-BY-SA-3.0 (copyright)",
         "Tux Math effects: alarm, buzz, crowd cheer, engine, explosion, laser, pop, tower clock bell, tock; "
         "the harp and the tracks excluded", where="usr/share/tuxmath/sounds",
         exclude=r"/(harp|tuxi|0\d_[^/]*)\.(wav|ogg)$"),
    Rule("noise", "deb_tuxtype_sfx", "debian", ("tuxtype-data",), "GPL-2 (copyright)",
         "Tux Typing effects: alarm, bite, buzz, cheer, explosion, laser, pop, splat, tock; tracks, harp, "
         "jingles and the spoken 'excuse me' excluded", where="usr/share/tuxtype/sounds",
         exclude=r"/(harp|tuxi|amidst_the_raindrops|chiptune2|excuseme|win|winfinal|lose)\.(wav|ogg)$"),
    Rule("noise", "deb_gcompris_animals", "debian", ("gcompris-qt-data",), "CC-BY-SA / public domain per file",
         "GCompris farm animals: cat, chickens, cow, dog, duck, horse, owl, pig, sheep",
         where=_gcompris_dir("explore_farm_animals"), archives=(_gcompris("explore_farm_animals"),)),
    Rule("noise", "deb_gcompris_everyday", "debian", ("gcompris-qt-data",),
         "Free Art License (Lionel Allorge; copyright: memory-sound/resource/*_LA.ogg)",
         "GCompris sound memory: applause, barking, gong, door, factory machines, frogs in a storm, heartbeat, "
         "rain in a garden, a ring, a car engine, a train slowing down; guitar phrases and synthetic 'weird' "
         "sounds excluded", where=_gcompris_dir("memory-sound"), archives=(_gcompris("memory-sound"),),
         include=r"/LR[^/]*\.ogg$", exclude=r"(Weird|LaPause)"),
    Rule("noise", "deb_desktop_sounds", "debian", ("sound-theme-freedesktop", "oxygen-sounds", "deepin-sound-theme",
                                                  "yaru-theme-sound"),
         "CC-BY-SA-3.0 / GPL-2 (freedesktop) / LGPL-3+ (oxygen) / GPL-3+ (deepin) / CC-BY-SA-4.0 (yaru sounds) "
         "(copyright files)",
         "desktop event sounds: bells, beeps, alarm clock, phone ringing and busy tone, camera shutter, "
         "trash, device plug; spoken channel names and the longer musical log-in/log-out tunes excluded",
         where="usr/share/sounds",
         exclude=r"(audio-channel-|Log-In|Log-Out|desktop-login|desktop-logoff|desktop-logout|system-shutdown|"
                 r"system-ready)"),
    Rule("noise", "deb_kde_games_sfx", "debian", ("kolf", "kgoldrunner", "kapman", "kbounce", "kanagram", "khangman"),
         "GPL-2+ / LGPL-2+ / CC0 / CC-BY per package (copyright files)",
         "KDE game sounds: golf ball hits and splashes, digging, chalk on a blackboard, bounces, pops; jingles "
         "excluded", exclude=r"(new_game|EW_Dialogue|splash\.(ogg|wav)$|victory|gameover|levelup|won|lose|woohoo|"
                             r"holeinone)"),
    Rule("noise", "deb_linphone_rings", "debian", ("linphone-common",), "GPL-2+ / CC0 (copyright)",
         "telephone ring and ringback tones, a chat notification", exclude=r"/hello\d+\.wav$"),
    Rule("noise", "deb_sound_icons", "debian", ("sound-icons",), "GPL-2+ (copyright)",
         "speech-dispatcher sound icons: canary, cockchafer, glass of water, whistles, clicks; the instrument "
         "notes (cembalo, guitar, piano, trumpet ...) excluded",
         exclude=r"/(cembalo|chord|electric-piano|guitar|klavichord|piano|trumpet|violoncello|xylofon|cymbaly|"
                 r"percussion)[^/]*\.wav$"),
    Rule("noise", "deb_bzflag_sfx", "debian", ("bzflag-data",), "LGPL-2.1 / MPL (copyright: data)",
         "BZFlag tank game effects: shots, explosions, bounces, flag, jump, land; kill-spree and team "
         "notices excluded", where="usr/share/games/bzflag",
         exclude=r"/(spree\d|killteam|hunt[^/]*|message_[^/]*)\.wav$"),
    Rule("noise", "deb_warmux_sfx", "debian", ("warmux-data",), "GPL-2+ (copyright)",
         "Warmux weapon and misc effects: explosions, guns, ropes, bounces; character voices excluded",
         where="usr/share/games/warmux/sound/default", include=r"^/(weapons|misc)/"),
    Rule("noise", "deb_openttd_sfx", "debian", ("openttd-opensfx",), "CC-BY-3.0 / CC0 per sound (credits in the "
         "catalogue) / GPL-2 (copyright)",
         "OpenTTD sounds: trains, steam whistles, buses, lorries, ships, planes and helicopters, factories, "
         "construction, farm animals, birds; the good/bad year jingles excluded",
         where="usr/share/games/openttd/baseset/opensfx/opensfx.cat.d",
         archives=(Archive("usr/share/games/openttd/baseset/opensfx/opensfx.cat"),),
         exclude=r"(Good Year|Bad Year|Applause|Fanfare|Jingle)"),
    Rule("noise", "pypi_arcade_sfx", "pypi", ("arcade==3.3.3",), "CC0 (Kenney sounds, per arcade's sounds licence)",
         "Kenney game effects (synthetic coins, lasers, jumps, hits, explosions, error beeps)",
         where="arcade/resources/assets/sounds", include=r"\.wav$"),
    Rule("noise", "npm_ion_sound", "npm", ("ion-sound@3.0.7",), "MIT (package.json)",
         "household sounds: bell ring, door bell, door bump, glass, can opening, cork pop, keyboard, camera "
         "flash, CD tray, light bulb breaking, metal plates, branch break, button clicks",
         where="package/sounds", include=r"\.ogg$"),
)

#: Candidates checked and not used, with the reason (kept here so nobody checks them again).
HELD_BACK: dict[str, str] = {
    "artikulate": "no audio in the package (course recordings are downloaded at run time)",
    "gcompris-qt-data voices": "the spoken words are downloaded at run time, not in the package",
    "teeworlds-data": "sounds are WavPack (.wv), which libsndfile cannot decode",
    "pingus-data": "music is tracker modules; 11 tiny effects, some of them cartoon voices",
    "pokerth-data": "6 one-word calls of unknown provenance and a few notification blips",
    "ri-li-data": "9 short toy-train effects and jingles",
    "blobby-data": "3 short effects",
    "freepats": "instrument patches (.pat), not audio files",
    "kajongg voices": "one author holds the copyright of every voice, female ones included: likely synthetic",
    "warzone2100-data voices": "human or synthetic provenance not verified",
    "openarena missionpack voices": "'festivoxmale' is the Festival speech synthesizer",
    "colobot-common-sounds effects": "partly synthetic game effects, labels unclear",
    "supertux-data speech": "5 cartoon-voice clips, one a rap (music)",
    "warmux-data voices": "pitch-shifted cartoon voices mixing words and cries",
    "flightgear-data-base": "too large for the download budget",
}
