"""County profiles: the real names and rough geography the synthetic county is built on.

太仓市 (320585) is the default: its eight towns and streets with 统计用区划代码-style codes,
their seats, sizes roughly in proportion to the real ones, and real or plausible
community/village, road and landmark names. Any other county code gets a generic profile
with the same shape and invented names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class StreetProfile:
    code: str                 # 9 digits
    name: str                 # 城厢镇 / 娄东街道
    seat: tuple[float, float]  # lon, lat of the town seat
    grids: int                # how many grids it gets
    communities: tuple[str, ...]  # 社区 names (without the suffix)
    villages: tuple[str, ...]     # 村 names (without the suffix)
    roads: tuple[str, ...]
    specials: tuple[str, ...]     # 专属网格 names (without the suffix)
    laggard: bool = False     # handles more cases late (gives the rankings a bottom)


@dataclass(frozen=True)
class CountyProfile:
    code: str
    name: str
    city_code: str
    city_name: str
    centre: tuple[float, float]
    outline: tuple[tuple[float, float], ...]  # convex, lon/lat, clockwise
    streets: tuple[StreetProfile, ...]
    center_name: str = field(default="")

    @property
    def short(self) -> str:
        return self.name[:-1] if self.name.endswith(("市", "县", "区")) else self.name


TAICANG = CountyProfile(
    code="320585", name="太仓市", city_code="3205", city_name="苏州市",
    centre=(121.13, 31.46),
    # The Yangtze shore runs NW-SE along the north-east edge; Shanghai lies to the south-east,
    # Kunshan to the south-west, Changshu to the north-west. About 34 km x 42 km.
    outline=((121.075, 31.735), (121.180, 31.662), (121.300, 31.542), (121.335, 31.480),
             (121.272, 31.418), (121.150, 31.362), (121.058, 31.372), (120.975, 31.428),
             (120.978, 31.560), (121.018, 31.652)),
    streets=(
        StreetProfile(
            "320585001", "娄东街道", (121.140, 31.458), 130,
            ("新区", "惠阳", "东郊", "太平", "洋沙", "朝阳", "香花桥", "太东", "太胜", "滨河", "娄江",
             "花北", "小桥", "半泾", "长春", "向阳", "北郊", "城北", "顾港"),
            (),
            ("上海东路", "郑和中路", "北京东路", "常胜北路", "太平北路", "朝阳路", "半泾路", "娄江路",
             "苏州东路", "县府东街", "新华东路", "东仓北路", "弇山东路", "上海路"),
            ("太仓高新区工业园", "娄东实验学校", "万达广场商圈")),
        StreetProfile(
            "320585002", "陆渡街道", (121.195, 31.478), 65,
            ("陆渡", "郑和", "江南", "东亭", "长江", "仓东"),
            ("三港", "横沥", "陆公", "严泾", "新华", "邵桥"),
            ("江南路", "宁波东路", "郑和东路", "横沥路", "东亭南路", "陆渡大道", "长江路", "通港路"),
            ("陆渡工业园", "中德企业合作基地")),
        StreetProfile(
            "320585100", "城厢镇", (121.088, 31.442), 125,
            ("中区", "东区", "府东", "县府", "南园", "桃园", "弇山", "梅园", "南区", "康乐", "西区",
             "德兴", "西郊", "伟阳", "太丰", "新毛"),
            ("新农", "胜泾", "永丰", "电站", "万丰", "东林"),
            ("太平南路", "县府街", "人民南路", "新华西路", "上海西路", "弇山西路", "南洋路", "府南街",
             "西门街", "致和塘路", "科教新城大道", "健雄路", "鹿河路"),
            ("城厢农贸市场", "科教新城学校", "金仓湖景区")),
        StreetProfile(
            "320585101", "沙溪镇", (121.068, 31.556), 140,
            ("沙南", "沙北", "沙西", "归庄", "直塘", "岳王", "印溪", "新南"),
            ("涂松", "松南", "项桥", "洪泾", "庄西", "泥桥", "东市", "白云", "岳南", "双桥", "三家市",
             "太星", "长洲", "中市", "北桥", "东新", "新建", "胜利", "兴隆", "西新"),
            ("白云路", "沙南东路", "中市街", "归庄路", "直塘街", "岳王路", "印溪路", "沙溪大道",
             "常胜路", "新港路"),
            ("沙溪古镇景区", "沙溪工业园", "沙溪农贸市场")),
        StreetProfile(
            "320585102", "浏河镇", (121.262, 31.502), 90,
            ("浏河", "新闸", "浏南", "东仓", "滨江", "天妃"),
            ("闸北", "何桥", "万安", "东南", "新塘", "紫薇", "孙桥", "浏东", "茜东", "庙前"),
            ("郑和路", "闸北路", "浏河大道", "滨江大道", "新塘路", "东仓南路", "天妃路", "浏南路"),
            ("浏河渔港", "浏河农贸市场"), laggard=True),
        StreetProfile(
            "320585103", "浮桥镇", (121.205, 31.592), 125,
            ("浮桥", "浏家港", "金浪", "新港", "港城", "时思"),
            ("老闸", "牌楼", "方桥", "绿化", "三市", "九曲", "茜泾", "新邵", "杨林", "东江", "吴塘",
             "金星", "丁泾", "新浏", "马北", "建新", "七丫", "弘港", "浪港"),
            ("中心路", "浏家港路", "浮桥大道", "港城大道", "时思路", "老闸路", "沿江公路", "北环路"),
            ("太仓港码头", "浮桥化工园", "港城农贸市场")),
        StreetProfile(
            "320585104", "璜泾镇", (121.090, 31.650), 75,
            ("璜泾", "鹿河", "荣文", "北荡"),
            ("杨漕", "王秀", "雅鹿", "永乐", "新明", "孝义", "李袁", "红星", "新河", "长桥", "鹿东",
             "王家", "界泾"),
            ("园林路", "璜泾大道", "鹿河路", "永乐路", "雅鹿路", "荣文路", "杨漕路"),
            ("璜泾化纤产业园",)),
        StreetProfile(
            "320585105", "双凤镇", (121.012, 31.498), 70,
            ("双凤", "新湖", "凤中", "维新"),
            ("勤力", "庆丰", "凤北", "羊草", "西庵", "新卫", "湖川", "泥泾", "温西"),
            ("双凤大道", "凤北路", "新湖路", "庆丰路", "勤力路", "凤中路", "湖川路"),
            ("双凤羊肉美食街", "双凤工业园")),
    ),
    center_name="太仓市社会治理联动指挥中心",
)

_GENERIC_TOWNS = ("城关", "东湖", "西山", "南塘", "北港", "新桥", "长安", "安平")
_GENERIC_ROADS = ("人民路", "解放路", "建设路", "中山路", "新华路", "文化路", "工业路", "环城路")


def _offset(code: str) -> tuple[float, float]:
    """Where another county sits relative to 太仓 (degrees): on a lattice six counties wide to its west
    and south, cell by its last two digits (districts 01-20 first, county-level cities 81-99 after;
    太仓 holds cell 0), so that a city's synthetic counties (a roll-up demo) lie side by side instead
    of on top of each other."""
    n = int(code[4:6])
    cell = n if n < 80 else n - 60
    return -(cell % 6) * 0.40, -(cell // 6) * 0.42


def generic_profile(code: str) -> CountyProfile:
    """Any other county: 太仓's shape and sizes with invented names, shifted beside it."""
    ox, oy = _offset(code)

    def moved(point):
        return (round(point[0] + ox, 6), round(point[1] + oy, 6))

    streets = []
    for i, (base, town) in enumerate(zip(TAICANG.streets, _GENERIC_TOWNS)):
        kind = "街道" if i < 2 else "镇"
        street_code = f"{code}{base.code[6:]}"
        streets.append(StreetProfile(
            street_code, f"{town}{kind}", moved(base.seat), base.grids,
            tuple(f"{town[0]}{n}" for n in base.communities),
            tuple(f"{town[1]}{n}" for n in base.villages),
            tuple(f"{town}{r}" for r in _GENERIC_ROADS),
            tuple(f"{town}{s[-4:]}" for s in base.specials),
            laggard=base.laggard))
    return CountyProfile(code=code, name=f"{code}县", city_code=code[:4], city_name=f"{code[:4]}市",
                         centre=moved(TAICANG.centre), outline=tuple(moved(p) for p in TAICANG.outline),
                         streets=tuple(streets),
                         center_name=f"{code}县社会治理联动指挥中心")


def county_profile(code: str) -> CountyProfile:
    if not (code.isdigit() and len(code) == 6):
        raise ValueError(f"a county code has 6 digits, not {code!r}")
    return TAICANG if code == TAICANG.code else generic_profile(code)


@lru_cache(maxsize=1024)  # asked once per case by the lifecycle planner; the profiles are frozen
def street_profile(street_code: str) -> StreetProfile | None:
    """The profile of a street by code (for the simulator, which starts from the database)."""
    profile = county_profile(street_code[:6])
    return next((s for s in profile.streets if s.code == street_code), None)
